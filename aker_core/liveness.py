"""Run liveness: which ``running`` runs still have a live process, and marking the others.

A process killed with SIGKILL (or a lost machine) never records how its run ended. Each run
therefore carries its host, pid, a *process token* -- ``<boot id>:<start time>`` on Linux, so a
pid reused after the process died (or after a reboot) does not pass for it -- and a heartbeat its
process refreshes. :func:`reconcile_abandoned` marks a ``running`` run ``failed`` with the error
``abandoned: ...`` when

* it ran on this host and its process is gone (token mismatch, or no such pid), or
* it ran elsewhere (or left no token) and its last heartbeat (or start) is older than the limit.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from aker_data.models import Run

__all__ = ["ABANDONED_AFTER_SECONDS", "HEARTBEAT_SECONDS", "Heartbeat", "process_token", "reconcile_abandoned"]

logger = logging.getLogger("aker_core")

#: How often a running run's process refreshes ``heartbeat_at``.
HEARTBEAT_SECONDS = 30.0
#: A run on another host without a heartbeat for this long is abandoned (10 missed beats).
ABANDONED_AFTER_SECONDS = 300.0


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def process_token(pid: int | None = None) -> str | None:
    """``<boot id>:<start ticks>`` of process ``pid`` (default: this one), ``None`` if unknown/gone."""
    boot = _boot_id()
    if boot is None:
        return None
    try:
        stat = Path(f"/proc/{pid or os.getpid()}/stat").read_text()
    except OSError:
        return None
    # Fields 3 (state) and 22 (starttime); the command name (field 2) may hold spaces, so split
    # after its ')'. A zombie (killed, not yet reaped) is gone for our purpose.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return f"{boot}:{fields[19]}"


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite returns naive datetimes; aker only ever writes UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _why_abandoned(run: Run, host: str, boot: str | None, now: dt.datetime, limit: float) -> str | None:
    """Why ``run`` is abandoned, or ``None`` while it may be alive."""
    token = run.process_token
    if run.host == host and token and boot and run.pid is not None:
        if not token.startswith(boot + ":"):
            return f"abandoned: host {host} restarted since process {run.pid} started"
        if process_token(run.pid) != token:
            return f"abandoned: process {run.pid} on {host} is gone"
        return None
    last = _utc(run.heartbeat_at or run.started_at)
    silent = (now - last).total_seconds()
    if silent > limit:
        return f"abandoned: no sign of life from process {run.pid} on {run.host} for {silent:.0f} s"
    return None


def reconcile_abandoned(
    session_factory: sessionmaker[Session], *, abandoned_after: float = ABANDONED_AFTER_SECONDS
) -> list[str]:
    """Mark every abandoned ``running`` run ``failed``; return their run ids.

    Safe to run concurrently from many processes: each update only applies to a run still
    ``running``.
    """
    now = dt.datetime.now(dt.UTC)
    host, boot = socket.gethostname(), _boot_id()
    marked: list[str] = []
    with session_factory() as session, session.begin():
        for run in session.scalars(select(Run).where(Run.status == "running")):
            why = _why_abandoned(run, host, boot, now, abandoned_after)
            if why is None:
                continue
            session.execute(
                update(Run)
                .where(Run.run_id == run.run_id, Run.status == "running")
                .values(status="failed", error=why, finished_at=now)
            )
            marked.append(run.run_id)
    if marked:
        logger.warning("marked %d abandoned run(s) failed: %s", len(marked), ", ".join(marked))
    return marked


class Heartbeat:
    """A daemon thread refreshing ``heartbeat_at`` of one run until :meth:`stop`."""

    def __init__(self, session_factory: sessionmaker[Session], run_id: str, every: float = HEARTBEAT_SECONDS) -> None:
        self._factory = session_factory
        self._run_id = run_id
        self._every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"aker-heartbeat-{run_id[:8]}", daemon=True)

    def start(self) -> Heartbeat:
        """Start beating."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop and wait for the thread (at most one beat's write)."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def _beat(self) -> None:
        while not self._stopped.wait(self._every):
            try:
                with self._factory() as session, session.begin():
                    session.execute(
                        update(Run).where(Run.run_id == self._run_id).values(heartbeat_at=dt.datetime.now(dt.UTC))
                    )
            except Exception:  # a database hiccup must not kill the run; the next beat retries
                logger.debug("heartbeat of run %s failed", self._run_id, exc_info=True)
