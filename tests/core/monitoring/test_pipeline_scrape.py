"""The exporter after a real Luigi pipeline run: scraped values equal the database's (both backends)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aker_data.engine import create_engine_from_url
from aker_data.models import Lineage, PillarScore, Run
from aker_tasks import ScoreMarkets
from tests.tasks.conftest import build, run_db, source_dir  # noqa: F401  (fixtures used by name)
from tests.tasks.luigiproc import COLD_RUNS

from .conftest import ExporterProcess, http_get, parse_samples, sample

AS_OF = dt.date(2024, 6, 1)


def test_scrape_after_pipeline_matches_database(
    source_dir: Path,  # noqa: F811
    run_db: str,  # noqa: F811
    start_exporter: Callable[..., ExporterProcess],
) -> None:
    """Runs per task family, lineage records and markets scored agree with the run database."""
    build(ScoreMarkets(as_of=AS_OF))
    engine = create_engine_from_url(run_db)
    with Session(engine) as s:
        by_family = dict(
            s.execute(
                select(Run.task_family, func.count()).where(Run.status == "completed").group_by(Run.task_family)
            ).all()
        )
        lineage_max = s.scalar(select(func.max(Lineage.id)))
        markets = s.scalar(select(func.count()).select_from(PillarScore).where(PillarScore.score_as_of == AS_OF))
    engine.dispose()
    # One run per executed task; the ScoreMarkets wrapper records none.
    assert by_family == COLD_RUNS

    samples = parse_samples(http_get(start_exporter(run_db).url))
    assert sample(samples, "aker_database_up") == 1
    for family, count in by_family.items():
        assert sample(samples, "aker_runs_finished_total", task_family=family, status="completed") == count
    assert sample(samples, "aker_lineage_records_total") == lineage_max
    assert sample(samples, "aker_markets_scored") == markets
    for family in by_family:
        assert sample(samples, "aker_runs_running", task_family=family) == 0
