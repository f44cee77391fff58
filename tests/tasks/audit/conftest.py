"""Pipelines for the audit tests, built by real `luigi` processes.

``pipeline``: a writable source copy, a migrated database, `luigi` and `aker` commands (trace, gc).
``built``: ScoreMarkets already built once for ``STATUS_AS_OF``; this process shares its settings (status, runs).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aker_core.config import reset_settings
from aker_data.engine import create_engine_from_url, dispose_engines
from aker_data.migrate import upgrade
from aker_data.models import Run
from tests.tasks.conftest import _reset_process_caches
from tests.tasks.luigiproc import BIN, aker_env, copy_sample, run_luigi

AS_OF = "2024-06-01"
STATUS_AS_OF = dt.date(2024, 6, 1)
WEIGHTS = '{"supply": 0.4, "jobs": 0.3, "urban": 0.2, "outdoor": 0.1}'


@dataclass
class Pipeline:
    """One aker configuration: cache, sources and database under a test's tmp_path."""

    tmp: Path
    source: Path
    db_url: str
    env: dict[str, str]

    @property
    def cache(self) -> Path:
        """AKER_CACHE_PATH."""
        return self.tmp / "cache"

    def luigi(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """`luigi --module aker_tasks ARGS` (default: ScoreMarkets for AS_OF), asserting exit 0."""
        argv = args or ("ScoreMarkets", "--as-of", AS_OF)
        done = run_luigi({**self.env, **extra}, *argv, "--local-scheduler", cwd=self.tmp)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        return done

    def aker(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """The installed `aker` command."""
        return subprocess.run(
            [str(BIN / "aker"), *args],
            cwd=self.tmp,
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def runs(self, family: str | None = None) -> list[Run]:
        """Recorded runs (of ``family``), oldest first."""
        engine = create_engine_from_url(self.db_url)
        with Session(engine) as s:
            query = select(Run).order_by(Run.started_at)
            if family:
                query = query.where(Run.task_family == family)
            found = list(s.scalars(query))
            s.expunge_all()
        engine.dispose()
        return found


@pytest.fixture
def pipeline(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    """A migrated database, a copy of the sample, and this process configured alike (for the Python API)."""
    engine = create_engine_from_url(db_url)
    upgrade(engine)
    engine.dispose()
    source = copy_sample(tmp_path / "source")
    env = aker_env(tmp_path, source, db_url)
    for key in ("AKER_CACHE_PATH", "AKER_SOURCE_URI", "AKER_POSTGIS_DSN"):
        monkeypatch.setenv(key, env[key])
    reset_settings()
    yield Pipeline(tmp_path, source, db_url, env)
    dispose_engines()


def backdate(root: Path, days: float) -> None:
    """Make every file under ``root`` look ``days`` old (results age; gc keeps young ones)."""
    import time

    when = time.time() - days * 86400
    for folder, _, names in os.walk(root):
        for name in names:
            os.utime(Path(folder, name), (when, when))


@dataclass
class BuiltPipeline:
    """One aker configuration: its sources, database and a way to run `luigi` on it."""

    tmp: Path
    source: Path
    db_url: str
    run: Callable[..., None]

    def env(self) -> dict[str, str]:
        """The environment of the `luigi` and `aker` processes."""
        return aker_env(self.tmp, self.source, self.db_url)


@pytest.fixture
def built(tmp_path: Path, source_dir: Path, run_db: str) -> BuiltPipeline:
    """ScoreMarkets built once for AS_OF by a `luigi` process; this process shares its settings."""

    def run(*extra: str, **settings: str) -> None:
        env = aker_env(tmp_path, source_dir, run_db, **settings)
        done = run_luigi(
            env, "ScoreMarkets", "--as-of", STATUS_AS_OF.isoformat(), "--local-scheduler", *extra, cwd=tmp_path
        )
        assert done.returncode == 0, done.stdout + done.stderr
        _reset_process_caches()  # what those processes changed, this one asks about afresh

    run()
    return BuiltPipeline(tmp_path, source_dir, run_db, run)
