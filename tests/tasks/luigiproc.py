"""Real processes for the tests: `luigi` commands, a `luigid` started with `aker luigid`, free ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aker_data.engine import create_engine_from_url
from aker_data.models import Run

BIN = Path(sys.executable).parent
LUIGI = str(BIN / "luigi")
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "aker_core" / "sample" / "data"

#: Runs one cold graph records: one per executed task (the ScoreMarkets wrapper records none).
COLD_RUNS = {
    "SourceVintages": 5,
    "FetchSource": 5,
    "ScorePillar": 4,
    "ComposeScores": 1,
    "PublishScores": 1,
    "ExportScores": 1,
}


def free_port() -> int:
    """A TCP port nothing listens on (bound once on 127.0.0.1, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def aker_env(tmp: Path, source: Path, db_url: str, **extra: str) -> dict[str, str]:
    """A clean environment for one aker configuration (nothing of the developer's AKER_* or .env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AKER_", "LUIGI_"))}
    env.update(
        AKER_CACHE_PATH=str(tmp / "cache"),
        AKER_SOURCE_URI=str(source),
        AKER_POSTGIS_DSN=db_url,
        AKER_ENV_FILE=str(tmp / "no.env"),
        GIT_SHA="0123456789abcdef0123456789abcdef01234567",
    )
    env.update(extra)
    return env


def copy_sample(dest: Path) -> Path:
    """A writable copy of the bundled sample."""
    shutil.copytree(SAMPLE_DIR, dest)
    return dest


def start_luigi(env: dict[str, str], *args: str, cwd: Path, own_group: bool = False) -> subprocess.Popen[str]:
    """Start `luigi --module aker_tasks ARGS` (stdout and stderr captured); ``own_group``: in a
    process group of its own, so it can be killed with all its workers."""
    return subprocess.Popen(
        [LUIGI, "--module", "aker_tasks", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=own_group,
    )


def run_luigi(env: dict[str, str], *args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run `luigi --module aker_tasks ARGS` to completion."""
    return subprocess.run(
        [LUIGI, "--module", "aker_tasks", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_http(url: str, timeout: float = 30) -> None:
    """Wait until ``url`` answers (any HTTP status)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def luigid(home: Path) -> Iterator[int]:
    """A real `aker luigid` on a free loopback port, with its state and history under ``home``."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AKER_", "LUIGI_"))}
    env.update(AKER_CACHE_PATH=str(home / "cache"), AKER_ENV_FILE=str(home / "no.env"))
    log = (home / "luigid.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "aker_tasks.cli", "luigid", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/graph")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def completed_runs(db_url: str) -> dict[str, int]:
    """task_family -> number of completed runs."""
    engine = create_engine_from_url(db_url)
    with Session(engine) as s:
        rows = s.execute(
            select(Run.task_family, func.count()).where(Run.status == "completed").group_by(Run.task_family)
        ).all()
    engine.dispose()
    return {str(f): int(n) for f, n in rows}
