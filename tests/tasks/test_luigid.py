"""The graph under a real `aker luigid` with several real `luigi` worker processes (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aker_data.engine import create_engine_from_url
from aker_data.migrate import upgrade
from aker_data.models import PillarScore
from tests.tasks.luigiproc import (
    COLD_RUNS,
    aker_env,
    completed_runs,
    copy_sample,
    free_port,
    luigid,
    run_luigi,
    start_luigi,
)

pytestmark = pytest.mark.slow

AS_OF = "2024-06-01"


@pytest.fixture
def migrated(db_url: str) -> str:
    """The test database at head (a PostgreSQL database is never migrated by the tasks)."""
    engine = create_engine_from_url(db_url)
    upgrade(engine)
    engine.dispose()
    return db_url


def _scores(db_url: str) -> dict[str, float | None]:
    engine = create_engine_from_url(db_url)
    with Session(engine) as s:
        rows = s.execute(select(PillarScore.msa_id, PillarScore.weighted_0_100)).all()
    engine.dispose()
    return {m: w for m, w in rows}


def _weights(db_url: str) -> list[dict[str, float]]:
    engine = create_engine_from_url(db_url)
    with Session(engine) as s:
        found = s.scalars(select(PillarScore.weights).distinct()).all()
    engine.dispose()
    return list(found)


def _task_list(port: int, status: str) -> dict[str, dict[str, object]]:
    query = urllib.parse.quote(json.dumps({"status": status}))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/task_list?data={query}", timeout=5) as r:
        return dict(json.loads(r.read())["response"])


def _set_cell(path: Path, column: str, row: int, value: str) -> None:
    """Rewrite one cell of a CSV source (row 0 = first data row)."""
    lines = path.read_text().splitlines()
    col = [c.strip('"') for c in lines[0].split(",")].index(column)
    cells = lines[row + 1].split(",")
    cells[col] = value
    lines[row + 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def _scheduler(port: int) -> tuple[str, ...]:
    return ("--scheduler-host", "127.0.0.1", "--scheduler-port", str(port))


def _local_reference(tmp_path: Path, source: Path, **extra: str) -> dict[str, float | None]:
    """Scores of the same configuration computed by a --local-scheduler run in its own cache and database."""
    ref = tmp_path / "reference"
    ref.mkdir()
    env = aker_env(ref, source, f"sqlite:///{ref / 'ref.db'}", **extra)
    proc = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", cwd=ref)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _scores(f"sqlite:///{ref / 'ref.db'}")


def test_three_workers_split_one_graph(tmp_path: Path, migrated: str) -> None:
    """Three `luigi` processes of one configuration: every task runs once, all exit 0, scores equal a local run."""
    source = copy_sample(tmp_path / "source")
    env = aker_env(tmp_path, source, migrated)
    with luigid(tmp_path / "luigid") as port:
        procs = [
            start_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--workers", "2", *_scheduler(port), cwd=tmp_path)
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=180)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], "\n=====\n".join(o[-2500:] for o in outputs)
        done = _task_list(port, "DONE")
    assert completed_runs(migrated) == COLD_RUNS
    assert sorted(t["name"] for t in done.values()) == sorted(
        ["SourceVintages"] * 5
        + ["FetchSource"] * 5
        + ["ScorePillar"] * 4
        + ["ComposeScores", "PublishScores", "ExportScores", "ScoreMarkets"]
    )
    # Progress reaches 100 % only for what finished, and the box names say which dataset it was.
    executed = [t for t in done.values() if t["name"] != "ScoreMarkets"]
    assert all(t["progress_percentage"] == 100 for t in executed if t.get("progress_percentage") is not None)
    assert {t["params"]["dataset"] for t in done.values() if t["name"] == "FetchSource"} == {
        "markets",
        "market_supply",
        "market_jobs",
        "market_urban",
        "market_outdoors",
    }
    assert _scores(migrated) == _local_reference(tmp_path, source)


def test_two_configurations_at_once_keep_their_own_results(tmp_path: Path) -> None:
    """Two configurations (other source and AKER_WEIGHTS, own cache and database) at once both succeed, each right."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    source_a = copy_sample(first / "source")
    source_b = copy_sample(second / "source")
    _set_cell(source_b / "market_supply.csv", "vacancy_rate", 1, "11.5")
    weights_b = '{"supply": 0.1, "jobs": 0.1, "urban": 0.4, "outdoor": 0.4}'
    env_a = aker_env(first, source_a, f"sqlite:///{first / 'a.db'}")
    env_b = aker_env(second, source_b, f"sqlite:///{second / 'b.db'}", AKER_WEIGHTS=weights_b)
    with luigid(tmp_path / "luigid") as port:
        procs = [
            start_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--workers", "2", *_scheduler(port), cwd=tmp_path)
            for env in (env_a, env_b)
        ]
        outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n=====\n".join(o[-2500:] for o in outputs)
    assert completed_runs(f"sqlite:///{first / 'a.db'}") == COLD_RUNS
    assert completed_runs(f"sqlite:///{second / 'b.db'}") == COLD_RUNS
    assert _weights(f"sqlite:///{second / 'b.db'}") == [{"supply": 0.1, "jobs": 0.1, "urban": 0.4, "outdoor": 0.4}]
    assert _scores(f"sqlite:///{first / 'a.db'}") == _local_reference(first, source_a)
    assert _scores(f"sqlite:///{second / 'b.db'}") == _local_reference(second, source_b, AKER_WEIGHTS=weights_b)


def test_edited_source_reruns_its_branch_at_once(tmp_path: Path, migrated: str) -> None:
    """Under luigid, editing a source and rerunning at once reruns that branch and exits 0."""
    source = copy_sample(tmp_path / "source")
    env = aker_env(tmp_path, source, migrated)
    with luigid(tmp_path / "luigid") as port:
        first = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, *_scheduler(port), cwd=tmp_path)
        assert first.returncode == 0, first.stderr[-3000:]
        _set_cell(source / "market_jobs.csv", "unemployment_rate", 1, "9.9")
        again = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, *_scheduler(port), cwd=tmp_path)
        assert again.returncode == 0, again.stderr[-3000:]
    runs = completed_runs(migrated)
    assert runs["FetchSource"] == 6 and runs["ScorePillar"] == 5
    assert runs["ComposeScores"] == 2 and runs["PublishScores"] == 2 and runs["ExportScores"] == 2


def test_failed_run_then_fixed_run_at_once(tmp_path: Path, migrated: str) -> None:
    """A run failing on a bad CSV exits 30; the fixed data rerun at once exits 0 (nothing stays disabled)."""
    source = copy_sample(tmp_path / "source")
    supply = source / "market_supply.csv"
    good = supply.read_text()
    _set_cell(supply, "vacancy_rate", 0, "n/a%")
    env = aker_env(tmp_path, source, migrated)
    with luigid(tmp_path / "luigid") as port:
        bad = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--workers", "2", *_scheduler(port), cwd=tmp_path)
        assert bad.returncode == 30, bad.stderr[-3000:]
        supply.write_text(good)
        fixed = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--workers", "2", *_scheduler(port), cwd=tmp_path)
        assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert len(_scores(migrated)) == len((source / "markets.csv").read_text().splitlines()) - 1


def test_same_failure_is_retried_by_a_later_run(tmp_path: Path, migrated: str) -> None:
    """A task that failed is not disabled for later runs: the next command retries it at once."""
    source = copy_sample(tmp_path / "source")
    (source / "markets.csv").write_text("msa_id,name\n,Nowhere\n")
    env = aker_env(tmp_path, source, migrated)
    with luigid(tmp_path / "luigid") as port:
        first = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, *_scheduler(port), cwd=tmp_path)
        assert first.returncode == 30, first.stderr[-3000:]
        second = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, *_scheduler(port), cwd=tmp_path)
    assert second.returncode == 30, second.stderr[-3000:]
    assert "msa_id" in second.stderr  # it ran the fetch again and reported the data problem


def test_without_luigid_fails_fast_with_the_hint(tmp_path: Path) -> None:
    """Without a luigid the command exits 35 within 5 s, in one line naming `aker luigid` and --local-scheduler."""
    source = copy_sample(tmp_path / "source")
    env = aker_env(tmp_path, source, f"sqlite:///{tmp_path / 'db.sqlite'}")
    started = time.monotonic()
    proc = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--scheduler-port", str(free_port()), cwd=tmp_path)
    assert time.monotonic() - started < 5
    assert proc.returncode == 35
    assert "aker luigid" in proc.stderr and "--local-scheduler" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1


def test_another_working_directory_keeps_retcodes_and_writes_nothing_there(tmp_path: Path) -> None:
    """From another directory a failing run still exits 30 and no cache or database appears in that directory."""
    source = copy_sample(tmp_path / "source")
    (source / "markets.csv").write_text("msa_id,name\n,Nowhere\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = aker_env(tmp_path, source, f"sqlite:///{tmp_path / 'db.sqlite'}")
    proc = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", cwd=elsewhere)
    assert proc.returncode == 30, proc.stderr[-3000:]
    assert list(elsewhere.iterdir()) == []


def test_default_cache_is_the_same_from_every_directory(tmp_path: Path) -> None:
    """With AKER_CACHE_PATH unset, the effective cache path does not depend on the working directory."""
    import subprocess
    import sys

    env = aker_env(tmp_path, tmp_path, "")
    del env["AKER_CACHE_PATH"], env["AKER_POSTGIS_DSN"]
    paths = set()
    for cwd in (tmp_path, Path("/")):
        out = subprocess.run(
            [sys.executable, "-m", "aker_core.config", "--json"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        paths.add(json.loads(out)["settings"]["cache_path"]["value"])
    assert len(paths) == 1
