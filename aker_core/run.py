"""RunContext: one recorded execution with its code version, configuration, seed and lineage.

The ``runs`` row is written in its own short transactions, separate from the data session, so
that a failed or rolled-back data transaction still leaves a ``failed`` run behind. Lineage
records are buffered and written in the data transaction as it commits (a reader who sees a run's
data sees its lineage too), or, when it fails, together with the final status -- so a run never
holds two write transactions at once (SQLite allows only one writer).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import uuid
from types import TracebackType
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session, sessionmaker

from aker_core.config import Settings, get_settings
from aker_core.exceptions import RunContextError
from aker_core.gitinfo import git_info
from aker_core.liveness import HEARTBEAT_SECONDS, Heartbeat, process_token, reconcile_abandoned
from aker_data.models import Lineage, Run

__all__ = ["RunContext", "derive_seed"]

#: Longest error text stored on a failed run (a traceback can be huge).
MAX_ERROR_CHARS = 4000


_reconciled: set[int] = set()


def _reconcile_once(factory: sessionmaker[Session], abandoned_after: float) -> None:
    """Once per process (a forked worker is a new one): mark runs of dead processes failed."""
    if os.getpid() in _reconciled:
        return
    _reconciled.add(os.getpid())
    try:
        reconcile_abandoned(factory, abandoned_after=abandoned_after)
    except Exception:  # housekeeping: the run itself reports a database that does not work
        logging.getLogger("aker_core").debug("could not reconcile abandoned runs", exc_info=True)


def derive_seed(config_hash: str) -> int:
    """A 32-bit unsigned seed derived from a config hash, so equal configs draw equal numbers."""
    return int(config_hash[:8], 16)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RunContext:
    """Context manager recording one run in the ``runs`` and ``lineage`` tables.

    Example:
        >>> with RunContext(Session) as run:           # doctest: +SKIP
        ...     PillarScoreService(run.session).refresh_many(as_of="2024-06-01", run_id=run.id)

    Args:
        session_factory: a ``sessionmaker`` bound to the run database.
        settings: configuration to record; defaults to :func:`~aker_core.config.get_settings`.
        git_sha: code version to record instead of the repository's HEAD.
        seed: seed of :attr:`rng`; defaults to one derived from the config hash.
        task_family: the Luigi task family this run executes, if any.
        task_params: that task's significant parameters.
        code_versions: the code the run executes beyond the git sha: ``{"modules": {module:
            version}, "libraries": {name: version}}`` (the task's code modules and the versions of
            the libraries that shape results).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        settings: Settings | None = None,
        git_sha: str | None = None,
        seed: int | None = None,
        task_family: str | None = None,
        task_params: dict[str, Any] | None = None,
        code_versions: dict[str, Any] | None = None,
    ) -> None:
        self._factory = session_factory
        self.settings = settings or get_settings()
        info = git_info()
        self.git_sha: str = git_sha or info.sha
        self.git_dirty: bool | None = None if git_sha else info.dirty
        self.config_hash: str = self.settings.config_hash
        if seed is None:
            seed = self.settings.seed if self.settings.seed is not None else derive_seed(self.config_hash)
        if not 0 <= seed < 2**32:
            raise RunContextError(f"seed must be a 32-bit unsigned integer, got {seed}")
        self.seed: int = seed
        self.rng = random.Random(seed)
        self.task_family = task_family
        self.task_params = task_params
        self.code_versions = code_versions
        self.id: str = str(uuid.uuid4())
        self.started_at: dt.datetime | None = None
        self.finished_at: dt.datetime | None = None
        self.status: str | None = None
        self.output_hash: str | None = None
        self._session: Session | None = None
        self._lineage: list[dict[str, Any]] = []
        self._entered = False
        self._heartbeat: Heartbeat | None = None
        #: Warnings recorded on the run (:meth:`warn`).
        self.warnings: list[str] = []
        #: How often the run's process refreshes ``heartbeat_at`` while it runs.
        self.heartbeat_seconds: float = HEARTBEAT_SECONDS

    @property
    def session(self) -> Session:
        """The data session; committed when the block succeeds, rolled back when it raises."""
        if self._session is None:
            raise RunContextError("run.session is only available inside `with RunContext(...)`")
        return self._session

    @property
    def active(self) -> bool:
        """Whether the context has been entered and not yet exited."""
        return self._session is not None

    def __enter__(self) -> RunContext:
        if self._entered:
            raise RunContextError(f"RunContext {self.id} was already entered; create a new one per run")
        self._entered = True
        _reconcile_once(self._factory, self.settings.run_abandoned_after)
        self.started_at = _now()
        self.status = "running"
        with self._factory() as s, s.begin():
            s.add(
                Run(
                    run_id=self.id,
                    git_sha=self.git_sha,
                    git_dirty=self.git_dirty,
                    config_hash=self.config_hash,
                    config_json=self.settings.snapshot(),
                    seed=self.seed,
                    started_at=self.started_at,
                    status="running",
                    task_family=self.task_family,
                    task_params=self.task_params,
                    code_versions=self.code_versions,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    process_token=process_token(),
                    heartbeat_at=self.started_at,
                )
            )
        self._heartbeat = Heartbeat(self._factory, self.id, self.heartbeat_seconds).start()
        self._session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        error: BaseException | None = exc
        try:
            if exc is None:
                try:
                    if self._lineage:
                        # In the data's own transaction: a reader that sees what the run wrote (a
                        # publication's rows) also sees where it came from (PUBLISHER_SQL needs both).
                        session.execute(insert(Lineage), [{"run_id": self.id, **r} for r in self._lineage])
                    session.commit()
                    self._lineage.clear()  # committed; a failed commit leaves them to _finish
                except Exception as commit_error:
                    error = commit_error
                    session.rollback()
                    raise
            else:
                session.rollback()
        finally:
            session.close()
            self._session = None
            if self._heartbeat is not None:
                self._heartbeat.stop()
            self._finish(error)

    def _finish(self, error: BaseException | None) -> None:
        self.finished_at = _now()
        self.status = "failed" if error is not None else "completed"
        message = None
        if error is not None:
            # PostgreSQL text cannot hold NUL, and the run must be recorded whatever the error says.
            message = f"{type(error).__name__}: {error}".replace("\x00", "\\x00")[:MAX_ERROR_CHARS]
        with self._factory() as s, s.begin():
            s.execute(
                update(Run)
                .where(Run.run_id == self.id)
                .values(
                    status=self.status,
                    finished_at=self.finished_at,
                    error=message,
                    output_hash=self.output_hash,
                    warnings="\n".join(self.warnings) or None,
                )
            )
            if self._lineage:
                s.execute(insert(Lineage), [{"run_id": self.id, **r} for r in self._lineage])
        self._lineage.clear()

    def log_lineage(
        self,
        *,
        table: str,
        source: str,
        url: str | None = None,
        fetched_at: dt.datetime | None = None,
        hash: str | None = None,
        direction: str = "input",
        path: str | None = None,
        rows: int | None = None,
    ) -> None:
        """Record a dataset this run read (``direction="input"``) or wrote (``"output"``).

        Rows are written with the run's final status, in the same transaction.

        Raises:
            RunContextError: called outside an active ``with`` block, or with a bad direction.
        """
        if not self.active:
            raise RunContextError("log_lineage() needs an active run: call it inside `with RunContext(...)`")
        if direction not in ("input", "output"):
            raise RunContextError(f"lineage direction must be 'input' or 'output', got {direction!r}")
        self._lineage.append(
            {
                "table": table,
                "source": source,
                "source_url": url,
                "fetched_at": fetched_at or _now(),
                "hash": hash,
                "direction": direction,
                "path": path,
                "rows": rows,
            }
        )

    def warn(self, message: str) -> None:
        """Record a warning on the run (written with its final status) and log it."""
        logging.getLogger("aker_core").warning("%s", message)
        self.warnings.append(message)

    def set_output_hash(self, value: str) -> None:
        """Record the content hash of what this run produced."""
        self.output_hash = value
