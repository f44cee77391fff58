"""Useless results fail with a reason instead of exiting 0: empty as-of cuts, foreign ids, no composite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from aker_core.exceptions import DataValidationError
from aker_tasks import ScoreMarkets
from aker_tasks.score import check_market_ids, check_some_composite
from tests.tasks.luigiproc import aker_env, copy_sample, run_luigi


def test_as_of_before_every_vintage_names_the_earliest(tmp_path: Path) -> None:
    """--as-of before all vintages fails (exit 30) naming the dataset and its earliest vintage."""
    env = aker_env(tmp_path, copy_sample(tmp_path / "source"), f"sqlite:///{tmp_path / 'db.sqlite'}")
    proc = run_luigi(env, "ScoreMarkets", "--as-of", "2020-01-01", "--local-scheduler", cwd=tmp_path)
    assert proc.returncode == 30
    assert "before every data_vintage" in proc.stderr and "earliest 2023-06-30" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_dataset_entirely_after_as_of_fails(source_dir: Path, run_db: str) -> None:
    """One dataset whose vintages are all later than as_of fails its fetch instead of nulling every composite."""
    from tests.tasks.conftest import build, runs_by_family

    outdoors = source_dir / "market_outdoors.csv"
    outdoors.write_text(outdoors.read_text().replace("2023-06-30", "2025-06-30").replace("2024-03-31", "2025-03-31"))
    build(ScoreMarkets(as_of=dt.date(2024, 6, 1)), expect_success=False)
    assert ("FetchSource", "failed") in runs_by_family(run_db)


def test_ids_missing_from_markets_name_both_datasets() -> None:
    """Pillar ids absent from markets (e.g. zero padding) are an error naming both datasets."""
    markets = pa.table({"msa_id": ["012060", "012420"]})
    supply = pa.table({"msa_id": ["12060", "12420"]})
    with pytest.raises(DataValidationError, match=r"'market_supply'.*'markets'"):
        check_market_ids(markets, {"supply": supply})


def test_no_market_with_a_composite_names_the_empty_pillar() -> None:
    """When no market gets a composite the error says which pillar scored nobody."""
    composite = pa.table({"weighted_0_5": pa.array([None, None], pa.float64())})
    pillars = {
        "supply": pa.table({"supply_0_5": pa.array([1.0, 2.0])}),
        "jobs": pa.table({"jobs_0_5": pa.array([None, None], pa.float64())}),
    }
    with pytest.raises(DataValidationError, match=r"no market has a jobs \(market_jobs\) score"):
        check_some_composite(composite, "2024-06-01", pillars)


def test_large_drop_in_markets_is_a_warning_on_the_run(source_dir: Path, run_db: str) -> None:
    """Publishing far fewer markets than the previous as_of warns in the log and on the run record."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from aker_core.config import reset_settings
    from aker_data.engine import create_engine_from_url
    from aker_data.models import Run
    from tests.tasks.conftest import build

    build(ScoreMarkets(as_of=dt.date(2024, 3, 31)))
    for name in ("markets", "market_supply", "market_jobs", "market_urban", "market_outdoors"):
        path = source_dir / f"{name}.csv"
        lines = path.read_text().splitlines()
        keep = [lines[0]] + [line for line in lines[1:] if line.split(",")[0].strip('"') < "3"]
        path.write_text("\n".join(keep) + "\n")
    reset_settings()
    build(ScoreMarkets(as_of=dt.date(2024, 6, 1)))
    engine = create_engine_from_url(run_db)
    with Session(engine) as s:
        warnings = s.scalars(select(Run.warnings).where(Run.task_family == "PublishScores")).all()
    engine.dispose()
    assert any(w and "fewer than the" in w and "2024-03-31" in w for w in warnings)
