"""The whole graph on the sample and every incremental-rerun case (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aker_core.config import reset_settings
from aker_data.engine import create_engine_from_url
from aker_data.models import Lineage, PillarScore, Run
from aker_tasks import ComposeScores, ExportScores, FetchSource, ScoreMarkets
from aker_tasks.targets import CacheTarget
from tests.tasks.conftest import build, db_counts, families, runs_by_family

AS_OF = dt.date(2024, 6, 1)
#: Every task of the graph, as Luigi's summary lists them (sorted).
ALL_FAMILIES = sorted(
    ["ComposeScores", "ExportScores", *["FetchSource"] * 5, "PublishScores", "ScoreMarkets", *["ScorePillar"] * 4]
    + ["SourceVintages"] * 5
)
#: The tasks that record a run (every AkerTask; the ScoreMarkets wrapper does not).
RUN_FAMILIES = [f for f in ALL_FAMILIES if f != "ScoreMarkets"]


def _scores(url: str, column: str = "weighted_0_100") -> dict[str, float | None]:
    """msa_id -> one pillar_scores column for AS_OF."""
    engine = create_engine_from_url(url)
    with Session(engine) as s:
        rows = s.execute(
            select(PillarScore.msa_id, getattr(PillarScore, column)).where(PillarScore.score_as_of == AS_OF)
        ).all()
    engine.dispose()
    return {m: w for m, w in rows}


def test_cold_run_scores_every_sample_market(source_dir: Path, run_db: str) -> None:
    """A cold run executes every task and persists one score row per sample market."""
    done = build(ScoreMarkets(as_of=AS_OF))
    assert families(done["completed"]) == ALL_FAMILIES
    markets = pacsv.read_csv(source_dir / "markets.csv").num_rows
    scores = _scores(run_db)
    assert len(scores) == markets
    assert any(v is not None for v in scores.values())
    counts = db_counts(run_db)
    assert counts["runs"] == len(RUN_FAMILIES)
    assert counts["pillar_scores"] == markets
    assert [family for family, _ in runs_by_family(run_db)] == RUN_FAMILIES


def test_every_executed_task_is_a_completed_run_with_lineage(source_dir: Path, run_db: str) -> None:
    """Each executed task leaves a completed run with input and output lineage rows."""
    build(ScoreMarkets(as_of=AS_OF))
    engine = create_engine_from_url(run_db)
    with Session(engine) as s:
        runs = s.scalars(select(Run)).all()
        for run in runs:
            assert run.status == "completed"
            assert run.output_hash and run.output_hash.startswith("xxh3_128:")
            assert run.git_sha == "0123456789abcdef0123456789abcdef01234567"
            directions = sorted(s.scalars(select(Lineage.direction).where(Lineage.run_id == run.run_id)))
            assert "output" in directions and "input" in directions
        fetch_inputs = s.scalars(
            select(Lineage)
            .join(Run)
            .where(Run.task_family == "FetchSource", Lineage.direction == "input", Lineage.source == "file")
        ).all()
    engine.dispose()
    assert {row.table for row in fetch_inputs} == {
        "markets",
        "market_supply",
        "market_jobs",
        "market_urban",
        "market_outdoors",
    }
    assert all(row.source_url and row.source_url.startswith("file://") for row in fetch_inputs)


def test_rerun_with_nothing_changed_runs_nothing(source_dir: Path, run_db: str) -> None:
    """A second run executes no task and adds no database row."""
    build(ScoreMarkets(as_of=AS_OF))
    before = db_counts(run_db)
    done = build(ScoreMarkets(as_of=AS_OF))
    assert done["completed"] == set()
    assert families(done["already_done"]) == ["ScoreMarkets"]
    assert db_counts(run_db) == before


def _bump_jobs(source_dir: Path) -> None:
    path = source_dir / "market_jobs.csv"
    table = pacsv.read_csv(path)
    col = table.column_names.index("unemployment_rate")
    import pyarrow.compute as pc

    table = table.set_column(col, "unemployment_rate", pc.add(table["unemployment_rate"], 2.0))
    pacsv.write_csv(table, path)


def test_changed_source_reruns_only_its_branch(source_dir: Path, run_db: str) -> None:
    """Changing market_jobs reruns its read and fetch, the jobs pillar, the composite, publication and export only."""
    build(ExportScores(as_of=AS_OF, format="csv"))
    old_jobs = _scores(run_db, "jobs_0_5")
    _bump_jobs(source_dir)
    done = build(ExportScores(as_of=AS_OF, format="csv"))
    assert families(done["completed"]) == [
        "ComposeScores",
        "ExportScores",
        "FetchSource",
        "PublishScores",
        "ScorePillar",
        "SourceVintages",
    ]
    assert any("market_jobs" in t for t in done["completed"])
    assert any("jobs" in t and t.startswith("ScorePillar") for t in done["completed"])
    new_jobs = _scores(run_db, "jobs_0_5")
    # Higher unemployment can only lower the jobs pillar, and must for markets that report it.
    lowered = [m for m in new_jobs if old_jobs[m] is not None and new_jobs[m] is not None and new_jobs[m] < old_jobs[m]]
    assert lowered
    assert all(new_jobs[m] <= old_jobs[m] for m in lowered)


def test_changed_weight_setting_reruns_only_composite_and_export(
    source_dir: Path, run_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new AKER_WEIGHTS value reruns the composite, its publication and the export, nothing upstream."""
    build(ExportScores(as_of=AS_OF, format="csv"))
    monkeypatch.setenv("AKER_WEIGHTS__JOBS", "0.9")
    reset_settings()  # a new process: task parameters default from the new settings
    done = build(ExportScores(as_of=AS_OF, format="csv"))
    assert families(done["completed"]) == ["ComposeScores", "ExportScores", "PublishScores"]


def test_weights_parameter_reruns_only_composite(source_dir: Path, run_db: str) -> None:
    """--weights reruns only the composite (and its publication and export) and records the weights used."""
    build(ScoreMarkets(as_of=AS_OF))
    before = _scores(run_db)
    weights = {"supply": 1.0, "jobs": 0.0, "urban": 0.0, "outdoor": 0.0}
    done = build(ScoreMarkets(as_of=AS_OF, weights=weights))
    assert families(done["completed"]) == ["ComposeScores", "ExportScores", "PublishScores", "ScoreMarkets"]
    engine = create_engine_from_url(run_db)
    with Session(engine) as s:
        row = s.scalars(select(PillarScore).where(PillarScore.weighted_0_5.is_not(None)).limit(1)).one()
        assert row.weights == weights
        assert row.weighted_0_5 == pytest.approx(row.supply_0_5)
        composes = s.scalars(select(Run).where(Run.task_family == "ComposeScores")).all()
    engine.dispose()
    assert _scores(run_db) != before
    # Each composite run records the weights it used: a --weights run is another configuration.
    assert len(composes) == 2
    weighted_run, default_run = sorted(composes, key=lambda r: r.config_json["weights"] != weights)
    assert weighted_run.config_json["weights"] == weights
    assert default_run.config_json["weights"] != weights
    assert weighted_run.config_hash != default_run.config_hash


def test_equal_weight_ratios_share_a_target(source_dir: Path, run_db: str) -> None:
    """Weights that normalise to the settings' weights reuse the existing composite target."""
    build(ScoreMarkets(as_of=AS_OF))
    first = ComposeScores(as_of=AS_OF).output()
    scaled = {"supply": 3.0, "jobs": 3.0, "urban": 2.0, "outdoor": 2.0}
    done = build(ScoreMarkets(as_of=AS_OF, weights=scaled))
    assert done["completed"] == set()  # normalised, they are the same tasks
    assert isinstance(first, CacheTarget)
    assert ComposeScores(as_of=AS_OF, weights=scaled).output().path == first.path


def test_changed_scoring_code_reruns_scoring(source_dir: Path, run_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new code version of the pillar scoring reruns the pillars and everything after them.

    The pillars' content is unchanged, so the tasks after them find their targets (and the
    publication) already in place and record no run.
    """
    build(ScoreMarkets(as_of=AS_OF))
    import aker_tasks.base as base
    from aker_tasks.hashing import code_version

    def bumped(*modules: str) -> str:
        version = code_version(*modules)
        return version + "-v2" if "aker_core.scoring.pillars" in modules else version

    monkeypatch.setattr(base, "code_version", bumped)
    before = runs_by_family(run_db)
    done = build(ScoreMarkets(as_of=AS_OF))
    assert (
        families(done["completed"])
        == ["ComposeScores", "ExportScores", "PublishScores", "ScoreMarkets"] + ["ScorePillar"] * 4
    )
    assert runs_by_family(run_db) == sorted(before + [("ScorePillar", "completed")] * 4)


def test_lost_database_is_repopulated_from_cache(
    source_dir: Path, run_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pointing at a new empty database republishes the cached scores without recomputing anything.

    PublishScores runs, and ExportScores writes a new export naming the new publishing run
    (its run_id column); every score in it is unchanged.
    """
    build(ScoreMarkets(as_of=AS_OF))
    expected = _scores(run_db)
    export = ExportScores(as_of=AS_OF).output()
    assert isinstance(export, CacheTarget)
    exported = pacsv.read_csv(export.path)
    fresh = f"sqlite:///{tmp_path / 'fresh' / 'aker.db'}"
    monkeypatch.setenv("AKER_POSTGIS_DSN", fresh)
    reset_settings()  # a new process: task parameters default from the new settings
    done = build(ScoreMarkets(as_of=AS_OF))
    assert families(done["completed"]) == ["ExportScores", "PublishScores", "ScoreMarkets"]
    assert runs_by_family(fresh) == [("ExportScores", "completed"), ("PublishScores", "completed")]
    assert _scores(fresh) == expected
    again = ExportScores(as_of=AS_OF).output()
    assert isinstance(again, CacheTarget) and again.path != export.path
    republished = pacsv.read_csv(again.path)
    assert republished.drop_columns(["run_id"]).equals(exported.drop_columns(["run_id"]))
    assert republished["run_id"] != exported["run_id"]
    assert build(ScoreMarkets(as_of=AS_OF))["completed"] == set()


def test_same_inputs_give_byte_identical_targets(
    source_dir: Path, run_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cold runs into different caches write byte-identical files and record equal output hashes."""
    build(ScoreMarkets(as_of=AS_OF))
    first = ComposeScores(as_of=AS_OF).output()
    monkeypatch.setenv("AKER_CACHE_PATH", str(tmp_path / "cache2"))
    reset_settings()  # a new process: task parameters default from the new settings
    build(ScoreMarkets(as_of=AS_OF))
    second = ComposeScores(as_of=AS_OF).output()
    assert isinstance(first, CacheTarget) and isinstance(second, CacheTarget)
    assert first.path != second.path
    assert Path(first.path).read_bytes() == Path(second.path).read_bytes()
    engine = create_engine_from_url(run_db)
    with Session(engine) as s:
        hashes = s.scalars(select(Run.output_hash).where(Run.task_family == "ComposeScores")).all()
    engine.dispose()
    assert len(hashes) == 2 and hashes[0] == hashes[1]


@pytest.mark.slow
def test_two_workers_build_the_graph(source_dir: Path, run_db: str) -> None:
    """With two worker processes the graph completes and records every run."""
    done = build(ScoreMarkets(as_of=AS_OF), workers=2)
    assert families(done["completed"]) == ALL_FAMILIES
    assert db_counts(run_db)["runs"] == len(RUN_FAMILIES)
    assert [family for family, _ in runs_by_family(run_db)] == RUN_FAMILIES


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_formats(source_dir: Path, run_db: str, fmt: str) -> None:
    """Each export format holds every market with the export columns (see test_exports_*)."""
    from aker_tasks.exports.table import EXPORT_SCHEMA

    build(ExportScores(as_of=AS_OF, format=fmt))
    target = ExportScores(as_of=AS_OF, format=fmt).output()
    assert isinstance(target, CacheTarget)
    scores = ComposeScores(as_of=AS_OF).output()
    assert isinstance(scores, CacheTarget)
    expected = pq.read_table(scores.path)
    if fmt == "csv":
        got = pacsv.read_csv(target.path)
    elif fmt == "parquet":
        got = pq.read_table(target.path)
    else:
        import orjson

        lines = Path(target.path).read_bytes().splitlines()
        assert len(lines) == expected.num_rows
        first = orjson.loads(lines[0])
        assert list(first) == EXPORT_SCHEMA.names
        return
    assert got.num_rows == expected.num_rows
    assert got.column_names == EXPORT_SCHEMA.names


def test_database_source_gives_same_scores_as_files(
    source_dir: Path, run_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AKER_SOURCE_URI=database reads the market_* tables and scores exactly as the files do."""
    from aker_core.sample import load_source_dir

    build(ScoreMarkets(as_of=AS_OF))
    from_files = ComposeScores(as_of=AS_OF).output()
    assert isinstance(from_files, CacheTarget)
    engine = create_engine_from_url(run_db)
    with engine.begin() as conn:
        load_source_dir(conn, str(source_dir))
    engine.dispose()
    monkeypatch.setenv("AKER_SOURCE_URI", "database")
    reset_settings()  # a new process: task parameters default from the new settings
    done = build(ScoreMarkets(as_of=AS_OF))
    assert families(done["completed"]) == ALL_FAMILIES
    from_db = ComposeScores(as_of=AS_OF).output()
    assert isinstance(from_db, CacheTarget)
    assert pq.read_table(from_db.path).equals(pq.read_table(from_files.path))
    meta = from_db.sidecar()
    assert meta["rows"] == from_files.sidecar()["rows"]
    fetch_meta = FetchSource(dataset="market_jobs", as_of=AS_OF).output()
    assert isinstance(fetch_meta, CacheTarget)
    assert fetch_meta.sidecar()["source"]["location"] == "database:market_jobs"


def test_date_before_any_vintage_fails_and_publishes_nothing(source_dir: Path, run_db: str) -> None:
    """An as_of before every vintage is refused (no empty composite, nothing published), not an empty success."""
    early = dt.date(1990, 1, 1)
    build(ScoreMarkets(as_of=early), expect_success=False)
    out = ComposeScores(as_of=early).output()
    assert not (isinstance(out, CacheTarget) and out.exists())
    assert db_counts(run_db)["pillar_scores"] == 0


def test_rows_written_by_the_service_are_replaced_on_rerun(source_dir: Path, run_db: str) -> None:
    """If anything else rewrote some scores of the date, the pipeline republishes its composite (only)."""
    from aker_core.markets import PillarScoreService
    from aker_core.sample import load_source_dir

    build(ScoreMarkets(as_of=AS_OF))
    expected = _scores(run_db)
    engine = create_engine_from_url(run_db)
    with engine.begin() as conn:
        load_source_dir(conn, str(source_dir))
    with Session(engine) as s, s.begin():
        market = next(iter(sorted(expected)))
        PillarScoreService(s).refresh_one(
            market, as_of=AS_OF, weights={"supply": 1, "jobs": 0, "urban": 0, "outdoor": 0}
        )
    engine.dispose()
    assert _scores(run_db) != expected
    before = runs_by_family(run_db)
    done = build(ScoreMarkets(as_of=AS_OF))
    assert families(done["completed"]) == ["ExportScores", "PublishScores", "ScoreMarkets"]
    # The export names the new publishing run, so it is a new export.
    assert runs_by_family(run_db) == sorted([*before, ("ExportScores", "completed"), ("PublishScores", "completed")])
    assert _scores(run_db) == expected
