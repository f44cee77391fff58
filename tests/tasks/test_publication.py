"""PublishScores: database and exports agree, a lost database is republished, publishers never fail each other."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aker_core.config import reset_settings
from aker_data.engine import create_engine_from_url
from aker_data.migrate import upgrade
from aker_data.models import PillarScore, Run
from aker_tasks import ComposeScores, ExportScores
from tests.tasks.conftest import build, families, runs_by_family
from tests.tasks.luigiproc import aker_env, copy_sample, start_luigi

AS_OF = dt.date(2024, 6, 1)
OTHER = {"supply": 0.1, "jobs": 0.1, "urban": 0.4, "outdoor": 0.4}


def _published(url: str) -> dict[str, tuple[float | None, dict[str, float]]]:
    """msa_id -> (weighted_0_100, weights) of AS_OF in pillar_scores."""
    engine = create_engine_from_url(url)
    with Session(engine) as s:
        rows = s.execute(
            select(PillarScore.msa_id, PillarScore.weighted_0_100, PillarScore.weights).where(
                PillarScore.score_as_of == AS_OF
            )
        ).all()
    engine.dispose()
    return {m: (w, dict(ws)) for m, w, ws in rows}


def _composite(weights: dict[str, float] | None = None) -> dict[str, float | None]:
    table = pq.read_table(ComposeScores(as_of=AS_OF, weights=weights).target().path)
    return dict(zip(table["msa_id"].to_pylist(), table["weighted_0_100"].to_pylist(), strict=True))


def test_other_weights_then_default_leaves_database_equal_to_export(source_dir: Path, run_db: str) -> None:
    """After a --weights run, a default ExportScores republishes the default scores: database = export."""
    build(ExportScores(as_of=AS_OF, weights=OTHER))
    done = build(ExportScores(as_of=AS_OF))
    assert "PublishScores" in families(done["completed"])
    published = _published(run_db)
    expected = _composite()
    assert {m: w for m, (w, _) in published.items()} == expected
    assert {tuple(sorted(ws.items())) for _, ws in published.values()} == {
        tuple(sorted(ComposeScores(as_of=AS_OF).weights_used().items()))
    }
    export = ExportScores(as_of=AS_OF).target()
    import pyarrow.csv as pacsv

    csv_ids = pacsv.read_csv(export.path, convert_options=pacsv.ConvertOptions(column_types={"msa_id": "string"}))[
        "msa_id"
    ].to_pylist()
    assert sorted(csv_ids) == sorted(expected)


def test_lost_database_is_republished_without_recomputing(
    source_dir: Path, run_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the cache intact and a new empty database, nothing is recomputed and the scores come back."""
    build(ExportScores(as_of=AS_OF))
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("AKER_POSTGIS_DSN", fresh)
    reset_settings()  # one process, one configuration: the task below is made for the new one
    build(ExportScores(as_of=AS_OF))
    # The publication is redone; the export follows only because it names the new publishing run.
    assert runs_by_family(fresh) == [("ExportScores", "completed"), ("PublishScores", "completed")]
    assert {m: w for m, (w, _) in _published(fresh).items()} == _composite()


def test_weights_enter_config_hash_and_snapshot(source_dir: Path, run_db: str) -> None:
    """A --weights run records those weights in config_json and a config_hash unlike the default run's."""
    build(ComposeScores(as_of=AS_OF))
    build(ComposeScores(as_of=AS_OF, weights=OTHER))
    engine = create_engine_from_url(run_db)
    with Session(engine) as s:
        runs = s.execute(select(Run.config_hash, Run.config_json).where(Run.task_family == "ComposeScores")).all()
    engine.dispose()
    assert len({h for h, _ in runs}) == 2
    assert OTHER in [cfg["weights"] for _, cfg in runs]


def test_later_publication_with_other_weights_wins(source_dir: Path, run_db: str) -> None:
    """Publishing a date with other weights replaces the earlier publication, and the run that wrote it is named."""
    build(ExportScores(as_of=AS_OF))
    build(ExportScores(as_of=AS_OF, weights=OTHER))
    published = _published(run_db)
    assert {m: w for m, (w, _) in published.items()} == _composite(OTHER)
    assert all(ws == OTHER for _, ws in published.values())


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(3))
def test_two_local_schedulers_publishing_one_date_both_succeed(tmp_path: Path, db_url: str, attempt: int) -> None:
    """Two concurrent --local-scheduler runs of one date on one cache and database both exit 0 with the right rows."""
    engine = create_engine_from_url(db_url)
    upgrade(engine)
    engine.dispose()
    source = copy_sample(tmp_path / "source")
    env = aker_env(tmp_path, source, db_url)
    procs = [
        start_luigi(env, "ScoreMarkets", "--as-of", AS_OF.isoformat(), "--local-scheduler", cwd=tmp_path)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n=====\n".join(o[-3000:] for o in outputs)
    published = _published(db_url)
    assert len(published) == len((source / "markets.csv").read_text().splitlines()) - 1
    engine = create_engine_from_url(db_url)
    with Session(engine) as s:
        writers = set(s.scalars(select(PillarScore.run_id).where(PillarScore.score_as_of == AS_OF)))
        statuses = {r.status for r in s.scalars(select(Run).where(Run.task_family == "PublishScores"))}
    engine.dispose()
    assert len(writers) == 1 and statuses == {"completed"}


@pytest.mark.slow
def test_concurrent_publishers_with_other_weights_both_succeed_later_wins(tmp_path: Path, db_url: str) -> None:
    """Two local schedulers publishing one date with different weights both exit 0; one weight set holds the date."""
    engine = create_engine_from_url(db_url)
    upgrade(engine)
    engine.dispose()
    source = copy_sample(tmp_path / "source")
    env = aker_env(tmp_path, source, db_url)
    variants = [
        '{"supply": 0.1, "jobs": 0.1, "urban": 0.4, "outdoor": 0.4}',
        '{"supply": 1, "jobs": 0, "urban": 0, "outdoor": 0}',
    ]
    procs = [
        start_luigi(
            env, "ScoreMarkets", "--as-of", AS_OF.isoformat(), "--local-scheduler", "--weights", w, cwd=tmp_path
        )
        for w in variants
    ]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n=====\n".join(o[-3000:] for o in outputs)
    weights = {tuple(sorted(ws.items())) for _, ws in _published(db_url).values()}
    assert len(weights) == 1


def test_scores_under_an_unfinished_run_are_republished(source_dir: Path, run_db: str) -> None:
    """Rows whose publishing run is not completed (a crash left it running) do not count as published."""
    from sqlalchemy import update

    build(ExportScores(as_of=AS_OF))
    engine = create_engine_from_url(run_db)
    with engine.begin() as conn:
        conn.execute(update(Run).where(Run.task_family == "PublishScores").values(status="running"))
    engine.dispose()
    build(ExportScores(as_of=AS_OF))
    assert sorted(runs_by_family(run_db)).count(("PublishScores", "completed")) == 1
    assert {m: w for m, (w, _) in _published(run_db).items()} == _composite()


def test_publishing_run_is_completed_when_its_rows_commit(source_dir: Path, run_db: str) -> None:
    """The run that wrote a date's rows is recorded completed, with a finish time."""
    build(ExportScores(as_of=AS_OF))
    engine = create_engine_from_url(run_db)
    with Session(engine) as s:
        writer = s.scalars(select(PillarScore.run_id).where(PillarScore.score_as_of == AS_OF)).first()
        run = s.get(Run, writer)
        assert run is not None and run.status == "completed" and run.finished_at is not None
    engine.dispose()
