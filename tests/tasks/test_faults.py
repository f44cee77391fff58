"""Fault injection: kill -9 the `luigi` process group at random points, then run normally.

After every kill the next normal run must exit 0 with no wedged database, no partial target, no
run left `running`, and scores equal to an uninterrupted run's -- on SQLite (including kills
during the embedded database's first migration) and on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aker_data.engine import create_engine_from_url
from aker_data.migrate import upgrade
from aker_data.models import PillarScore, Run
from aker_tasks.hashing import file_hash
from aker_tasks.targets import read_sidecar
from tests.tasks.luigiproc import aker_env, run_luigi, start_luigi

pytestmark = pytest.mark.slow

AS_OF = "2024-06-01"
ARGS = ("ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", "--workers", "2")


def _generate(dest: Path, markets: int = 20_000) -> Path:
    subprocess.run(
        [sys.executable, "-m", "aker_core.sample", "--markets", str(markets), "--vintages", "2", "--out", str(dest)],
        check=True,
        capture_output=True,
    )
    return dest


def _scores(url: str) -> dict[str, tuple[float | None, str | None]]:
    engine = create_engine_from_url(url)
    with Session(engine) as s:
        rows = s.execute(select(PillarScore.msa_id, PillarScore.weighted_0_100, PillarScore.missing_pillars)).all()
    engine.dispose()
    return {m: (w, miss) for m, w, miss in rows}


def _running(url: str) -> list[str]:
    engine = create_engine_from_url(url)
    with Session(engine) as s:
        found = list(s.scalars(select(Run.run_id).where(Run.status == "running")))
    engine.dispose()
    return found


def _assert_targets_whole(cache: Path) -> None:
    """Every data file with a sidecar holds exactly the bytes its sidecar records."""
    for sidecar in (cache / "targets").rglob("*.json"):
        data = Path(str(sidecar)[: -len(".json")])
        assert data.is_file(), f"sidecar without data: {sidecar}"
        assert file_hash(data) == read_sidecar(sidecar)["content_hash"], f"damaged target: {data}"


def _kill_at_random(env: dict[str, str], cwd: Path, delay: float) -> None:
    proc = start_luigi(env, *ARGS, cwd=cwd, own_group=True)
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20k markets x 2 vintages (parquet): a run takes about a second."""
    return _generate(tmp_path_factory.mktemp("faults") / "source")


@pytest.fixture(scope="module")
def reference(source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[float | None, str | None]]:
    """Scores of an uninterrupted run."""
    home = tmp_path_factory.mktemp("reference")
    url = f"sqlite:///{home / 'ref.db'}"
    proc = run_luigi(aker_env(home, source, url), *ARGS, cwd=home)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return _scores(url)


@pytest.mark.parametrize("kills", [14])
def test_kill_9_on_sqlite_then_rerun(
    source: Path, reference: dict[str, tuple[float | None, str | None]], tmp_path: Path, kills: int
) -> None:
    """SQLite: kills at random points (the first ones during the first migration) never wedge or corrupt."""
    rng = random.Random(11)
    db = tmp_path / "run.db"
    url = f"sqlite:///{db}"
    env = aker_env(tmp_path, source, url)
    for i in range(kills):
        if i < 4:  # a fresh database: the run starts by migrating it
            for f in tmp_path.glob("run.db*"):
                f.unlink()
            delay = rng.uniform(0.15, 0.6)
        else:
            if i % 3 == 0:
                shutil.rmtree(tmp_path / "cache" / "targets", ignore_errors=True)
            delay = rng.uniform(0.2, 1.6)
        _kill_at_random(env, tmp_path, delay)
        again = run_luigi(env, *ARGS, cwd=tmp_path)
        assert again.returncode == 0, f"kill {i} at {delay:.2f}s:\n{again.stderr[-3000:]}"
        assert _running(url) == [], f"kill {i}: runs left running"
        assert _scores(url) == reference, f"kill {i}: scores differ"
        _assert_targets_whole(tmp_path / "cache")


@pytest.mark.postgres
def test_kill_9_on_postgresql_then_rerun(
    source: Path, reference: dict[str, tuple[float | None, str | None]], tmp_path: Path, postgres_url: str
) -> None:
    """PostgreSQL: kills at random points never leave a partial publication or a run `running`."""
    engine = create_engine_from_url(postgres_url)
    upgrade(engine)
    engine.dispose()
    rng = random.Random(13)
    env = aker_env(tmp_path, source, postgres_url)
    for i in range(8):
        if i % 3 == 0:
            shutil.rmtree(tmp_path / "cache" / "targets", ignore_errors=True)
        delay = rng.uniform(0.3, 2.0)
        _kill_at_random(env, tmp_path, delay)
        again = run_luigi(env, *ARGS, cwd=tmp_path)
        assert again.returncode == 0, f"kill {i} at {delay:.2f}s:\n{again.stderr[-3000:]}"
        assert _running(postgres_url) == [], f"kill {i}: runs left running"
        assert _scores(postgres_url) == reference, f"kill {i}: scores differ"
        _assert_targets_whole(tmp_path / "cache")
