"""A fully cached run only hashes and checks: it loads neither pyarrow nor SQLAlchemy.

That is what keeps a cached ``ScoreMarkets`` or ``ExportScores`` at a few tenths of a second
(importing pyarrow, numpy and SQLAlchemy alone costs more than the rest of such a run). The
runs here are real ``luigi`` processes; a small wrapper runs Luigi's own command line and then
prints which heavy packages the process loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tasks.luigiproc import aker_env, copy_sample, run_luigi

HEAVY = ("pyarrow", "numpy", "sqlalchemy", "alembic", "psycopg")

#: Luigi's command line in this process, then the heavy top-level packages it imported.
PROBE = f"""
import json
import sys
import luigi.cmdline
try:
    luigi.cmdline.luigi_run(["--module", "aker_tasks", *sys.argv[1:]])
except SystemExit as e:
    code = e.code
print("LOADED", json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))))
sys.exit(code)
"""


def _probe(env: dict[str, str], cwd: Path, *args: str) -> tuple[str, list[str]]:
    """Run ``luigi --module aker_tasks ARGS --local-scheduler``; its output and the heavy packages it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args, "--local-scheduler"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    line = next(line for line in done.stdout.splitlines() if line.startswith("LOADED"))
    return output, list(json.loads(line.removeprefix("LOADED ")))


def _loaded(env: dict[str, str], cwd: Path, *args: str) -> list[str]:
    output, loaded = _probe(env, cwd, *args)
    assert "Did not run any tasks" in output, output
    return loaded


@pytest.fixture
def cached_sample(tmp_path: Path) -> dict[str, str]:
    """The sample scored once (csv and parquet exports) on the embedded SQLite default."""
    env = aker_env(tmp_path, copy_sample(tmp_path / "src"), f"sqlite:///{tmp_path / 'aker.db'}")
    env["AKER_EXPORT_DIR"] = str(tmp_path / "exports")
    for fmt in ("csv", "parquet"):
        done = run_luigi(
            env, "ScoreMarkets", "--as-of", "2024-06-01", "--format", fmt, "--local-scheduler", cwd=tmp_path
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return env


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_cached_score_markets_loads_no_heavy_library(cached_sample: dict[str, str], tmp_path: Path, fmt: str) -> None:
    """A cached ScoreMarkets (csv or parquet export) imports no pyarrow, numpy or SQLAlchemy."""
    assert _loaded(cached_sample, tmp_path, "ScoreMarkets", "--as-of", "2024-06-01", "--format", fmt) == []


def test_cached_export_scores_loads_no_heavy_library(cached_sample: dict[str, str], tmp_path: Path) -> None:
    """A cached ExportScores, asked for on its own, imports no pyarrow, numpy or SQLAlchemy."""
    assert _loaded(cached_sample, tmp_path, "ExportScores", "--as-of", "2024-06-01", "--format", "parquet") == []


def test_the_probe_sees_a_run_that_loads_them(tmp_path: Path) -> None:
    """The probe itself can fail: a cold run (which scores) is seen loading pyarrow."""
    env = aker_env(tmp_path, copy_sample(tmp_path / "src"), f"sqlite:///{tmp_path / 'aker.db'}")
    _, loaded = _probe(env, tmp_path, "ScoreMarkets", "--as-of", "2024-06-01")
    assert {"pyarrow", "sqlalchemy"} <= set(loaded)
