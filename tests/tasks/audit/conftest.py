"""A pipeline state built by real `luigi` processes, and this process configured to ask about it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tasks.conftest import _reset_process_caches
from tests.tasks.luigiproc import aker_env, run_luigi

AS_OF = dt.date(2024, 6, 1)
WEIGHTS = '{"supply": 0.4, "jobs": 0.3, "urban": 0.2, "outdoor": 0.1}'


@dataclass
class Pipeline:
    """One aker configuration: its sources, database and a way to run `luigi` on it."""

    tmp: Path
    source: Path
    db_url: str
    run: Callable[..., None]

    def env(self) -> dict[str, str]:
        """The environment of the `luigi` and `aker` processes."""
        return aker_env(self.tmp, self.source, self.db_url)


@pytest.fixture
def pipeline(tmp_path: Path, source_dir: Path, run_db: str) -> Pipeline:
    """ScoreMarkets built once for AS_OF by a `luigi` process; this process shares its settings."""

    def run(*extra: str, **settings: str) -> None:
        env = aker_env(tmp_path, source_dir, run_db, **settings)
        done = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF.isoformat(), "--local-scheduler", *extra, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        _reset_process_caches()  # what those processes changed, this one asks about afresh

    run()
    return Pipeline(tmp_path, source_dir, run_db, run)
