"""Run liveness: runs of dead processes are marked failed ('abandoned'), live ones are left alone."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from aker_core.liveness import Heartbeat, process_token, reconcile_abandoned
from aker_core.run import RunContext
from aker_data.models import Run


def _status(factory: sessionmaker[Session], run_id: str) -> tuple[str, str | None]:
    with factory() as s:
        run = s.get(Run, run_id)
        assert run is not None
        return run.status, run.error


def _set(factory: sessionmaker[Session], run_id: str, **values: object) -> None:
    with factory() as s, s.begin():
        s.execute(update(Run).where(Run.run_id == run_id).values(**values))


def test_process_token_names_this_process_and_not_a_dead_one() -> None:
    """This process has a token; a process that exited has none (its pid is gone)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_token() is not None
    assert process_token(child.pid) is None or process_token(child.pid) != process_token()


def test_running_run_of_this_live_process_is_left_alone(session_factory: sessionmaker[Session]) -> None:
    """A run whose process is alive stays running."""
    with RunContext(session_factory) as run:
        assert reconcile_abandoned(session_factory) == []
        assert _status(session_factory, run.id)[0] == "running"


def test_run_of_a_killed_process_is_marked_abandoned(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    """A run left running by a SIGKILLed process is failed with an 'abandoned' error by the next check."""
    url = session_factory.kw["bind"].url.render_as_string(hide_password=False)
    script = tmp_path / "child.py"
    script.write_text(
        "import sys, time\n"
        "from sqlalchemy.orm import sessionmaker\n"
        "from aker_data.engine import create_engine_from_url\n"
        "from aker_core.run import RunContext\n"
        f"run = RunContext(sessionmaker(bind=create_engine_from_url({url!r})))\n"
        "run.__enter__()\n"
        "print(run.id, flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    assert _status(session_factory, run_id)[0] == "running"
    assert run_id not in reconcile_abandoned(session_factory)  # still alive
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert run_id in reconcile_abandoned(session_factory)
    status, error = _status(session_factory, run_id)
    assert status == "failed" and error is not None and error.startswith("abandoned:")


def test_silent_run_of_another_host_is_abandoned_after_the_limit(session_factory: sessionmaker[Session]) -> None:
    """A run on another host is abandoned once its heartbeat is older than the limit, not before."""
    with RunContext(session_factory) as run:
        old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=100)
        _set(session_factory, run.id, host="elsewhere", heartbeat_at=old)
        assert reconcile_abandoned(session_factory, abandoned_after=300) == []
        assert reconcile_abandoned(session_factory, abandoned_after=60) == [run.id]


def test_heartbeat_refreshes_the_run(session_factory: sessionmaker[Session]) -> None:
    """The heartbeat thread moves heartbeat_at forward while the run is alive."""
    with RunContext(session_factory) as run:
        _set(session_factory, run.id, heartbeat_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        beat = Heartbeat(session_factory, run.id, every=0.05).start()
        try:
            deadline = dt.datetime.now() + dt.timedelta(seconds=5)
            while dt.datetime.now() < deadline:
                with session_factory() as s:
                    seen = s.scalar(select(Run.heartbeat_at).where(Run.run_id == run.id))
                if seen is not None and seen.year > 2000:
                    break
        finally:
            beat.stop()
        assert seen is not None and seen.year > 2000


def test_exporter_scrape_marks_abandoned_runs_with_the_configured_limit(session_factory: sessionmaker[Session]) -> None:
    """A scrape reconciles first, with AKER_RUN_ABANDONED_AFTER's limit, so aker_runs_running counts live runs."""
    from aker_core.monitoring.collector import AkerCollector

    url = session_factory.kw["bind"].url.render_as_string(hide_password=False)
    with RunContext(session_factory) as run:
        _set(
            session_factory, run.id, host="elsewhere", heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=100)
        )
        lenient = AkerCollector(url, abandoned_after=300)
        list(lenient.collect())
        lenient.close()
        assert _status(session_factory, run.id)[0] == "running"
        strict = AkerCollector(url, abandoned_after=60)
        list(strict.collect())
        strict.close()
        assert _status(session_factory, run.id)[0] == "failed"


def test_killed_but_unreaped_process_counts_as_gone() -> None:
    """A zombie (killed, not yet reaped by its parent) has no process token: its run is abandoned."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_token(child.pid) is not None
        os.kill(child.pid, signal.SIGKILL)
        deadline = dt.datetime.now() + dt.timedelta(seconds=5)
        while process_token(child.pid) is not None and dt.datetime.now() < deadline:
            pass
        assert process_token(child.pid) is None
    finally:
        child.wait()
