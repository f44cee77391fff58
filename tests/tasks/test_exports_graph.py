"""ExportScores in the graph: stable files, formats, rank changes and cache keys (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aker_tasks import ExportScores, ScoreMarkets
from aker_tasks.exports.table import EXPORT_SCHEMA
from aker_tasks.targets import CacheTarget
from tests.tasks.conftest import build, db_counts, families

AS_OF = dt.date(2024, 6, 1)
EARLIER = dt.date(2023, 12, 31)
MIDDLE = dt.date(2024, 3, 31)
OTHER = {"supply": 0.4, "jobs": 0.3, "urban": 0.2, "outdoor": 0.1}


def _export(as_of: dt.date = AS_OF, fmt: str = "csv", weights: dict[str, float] | None = None) -> ExportScores:
    return ExportScores(as_of=as_of, format=fmt, weights=weights)


def _read(path: Path, fmt: str) -> pa.Table:
    """An export file as a table of EXPORT_SCHEMA types."""
    if fmt == "parquet":
        return pq.read_table(path)
    if fmt == "csv":
        options = pacsv.ConvertOptions(
            column_types={f.name: f.type for f in EXPORT_SCHEMA},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        return pacsv.read_csv(path, convert_options=options)
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert all(list(r) == EXPORT_SCHEMA.names for r in rows)
    loose = pa.schema([f.with_nullable(True) for f in EXPORT_SCHEMA])
    return pa.Table.from_pylist(
        [
            {**r, **{k: dt.date.fromisoformat(v) for k, v in r.items() if k.endswith(("as_of", "_vintage")) and v}}
            for r in rows
        ],
        schema=loose,
    )


def _ranks(path: Path) -> dict[str, int | None]:
    table = _read(path, "csv")
    return dict(zip(table["msa_id"].to_pylist(), table["rank"].to_pylist(), strict=True))


def test_every_format_has_the_schema_and_the_same_rows(source_dir: Path, run_db: str) -> None:
    """csv, parquet and jsonl: the contract's columns and types, the same markets in the same order."""
    tables = {}
    for fmt in ("csv", "parquet", "jsonl"):
        build(_export(fmt=fmt))
        task = _export(fmt=fmt)
        stable = task.stable_path()
        assert stable == Path(task.settings.export_dir or "") / "2024-06-01" / f"scores.{fmt}"
        target = task.output()
        assert isinstance(target, CacheTarget)
        assert stable.read_bytes() == Path(target.path).read_bytes()
        tables[fmt] = _read(stable, fmt)
    assert tables["parquet"].schema == EXPORT_SCHEMA
    for fmt in ("csv", "jsonl"):
        assert [(f.name, f.type) for f in tables[fmt].schema] == [(f.name, f.type) for f in EXPORT_SCHEMA]
    loose = pa.schema([f.with_nullable(True) for f in EXPORT_SCHEMA])
    tables = {fmt: table.cast(loose) for fmt, table in tables.items()}
    keys = ["msa_id", "name", "rank", "rank_change", "missing_pillars", "weights", "run_id", "jobs_vintage"]
    assert tables["csv"].select(keys).equals(tables["parquet"].select(keys))
    assert tables["jsonl"].select(keys).equals(tables["parquet"].select(keys))
    assert tables["jsonl"]["weighted_0_5"].equals(tables["parquet"]["weighted_0_5"])
    parquet = tables["parquet"]
    assert parquet.num_rows == 43 and parquet["rank"].to_pylist()[0] == 1
    assert set(parquet["as_of"].to_pylist()) == {AS_OF}
    assert set(parquet["jobs_vintage"].drop_null().to_pylist()) <= {dt.date(2023, 6, 30), dt.date(2024, 3, 31)}


def test_rank_change_against_the_latest_earlier_publication_with_the_same_weights(
    source_dir: Path, run_db: str
) -> None:
    """An earlier date with other weights is ignored; rank_change = previous rank - rank."""
    build(ScoreMarkets(as_of=EARLIER))
    build(ScoreMarkets(as_of=MIDDLE, weights=OTHER))
    build(ScoreMarkets(as_of=AS_OF))
    earlier = _ranks(_export(EARLIER).stable_path())
    now = _read(_export(AS_OF).stable_path(), "csv").to_pylist()
    assert any(r["rank_change"] not in (None, 0) for r in now)
    for row in now:
        before = earlier.get(row["msa_id"])
        expected = None if before is None or row["rank"] is None else before - row["rank"]
        assert row["rank_change"] == expected, row["msa_id"]
    first = _read(_export(EARLIER).stable_path(), "csv")
    assert first["rank_change"].null_count == first.num_rows  # nothing before 2023-12-31


def test_publishing_an_earlier_date_refreshes_a_cached_export(source_dir: Path, run_db: str) -> None:
    """An export made before the earlier date was published is rebuilt (only it), not left stale."""
    build(ScoreMarkets(as_of=AS_OF))
    stable = _export().stable_path()
    assert _read(stable, "csv")["rank_change"].null_count == 43
    build(ScoreMarkets(as_of=EARLIER))
    done = build(ScoreMarkets(as_of=AS_OF))
    assert families(done["completed"]) == ["ExportScores", "ScoreMarkets"]
    assert _read(stable, "csv")["rank_change"].null_count < 43


def test_deleted_or_edited_stable_file_is_restored_without_a_run(source_dir: Path, run_db: str) -> None:
    """The next run copies the cached target back; nothing is recomputed, no run is recorded."""
    build(ScoreMarkets(as_of=AS_OF))
    stable = _export().stable_path()
    original = stable.read_bytes()
    before = db_counts(run_db)
    stable.unlink()
    assert not _export().complete()
    build(ScoreMarkets(as_of=AS_OF))
    assert stable.read_bytes() == original
    stable.write_bytes(original.replace(b"Columbus", b"Kolumbus"))
    assert not _export().complete()
    done = build(ScoreMarkets(as_of=AS_OF))
    assert families(done["completed"]) == ["ExportScores", "ScoreMarkets"]
    assert stable.read_bytes() == original
    assert db_counts(run_db) == before
    assert build(ScoreMarkets(as_of=AS_OF))["completed"] == set()


def test_other_weights_get_their_own_file_and_leave_the_default_alone(source_dir: Path, run_db: str) -> None:
    """Two weight sets give two stable files; exporting one leaves the other's bytes and mtime untouched."""
    build(ScoreMarkets(as_of=AS_OF))
    default = _export().stable_path()
    stat = default.stat()
    build(ScoreMarkets(as_of=AS_OF, weights=OTHER))
    variant = _export(weights=OTHER).stable_path()
    assert variant.name == "scores.supply-40_jobs-30_urban-20_outdoor-10.csv"
    assert sorted(p.name for p in default.parent.iterdir()) == sorted([default.name, variant.name])
    assert set(_read(variant, "csv")["weights"].to_pylist()) == {"supply=0.4;jobs=0.3;urban=0.2;outdoor=0.1"}
    assert set(_read(default, "csv")["weights"].to_pylist()) == {"supply=0.3;jobs=0.3;urban=0.2;outdoor=0.2"}
    assert default.stat().st_mtime_ns == stat.st_mtime_ns and default.stat().st_ino == stat.st_ino


def test_run_id_is_the_publishing_run(source_dir: Path, run_db: str) -> None:
    """run_id names the completed PublishScores run whose rows the database holds."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from aker_data.engine import create_engine_from_url
    from aker_data.models import PillarScore, Run

    build(ScoreMarkets(as_of=AS_OF))
    exported = set(_read(_export().stable_path(), "csv")["run_id"].to_pylist())
    engine = create_engine_from_url(run_db)
    with Session(engine) as s:
        held = set(s.scalars(select(PillarScore.run_id).where(PillarScore.score_as_of == AS_OF)))
        family = s.scalar(select(Run.task_family).where(Run.run_id.in_(held)))
    engine.dispose()
    assert exported == held and family == "PublishScores"


def test_export_of_a_replaced_publication_names_the_run_that_wrote_it(source_dir: Path, run_db: str) -> None:
    """Scores another run (other weights) has since replaced are exported under the run that wrote them."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from aker_data.engine import create_engine_from_url
    from aker_data.models import PillarScore
    from aker_tasks.exports.previous import last_publisher
    from aker_tasks.publication import PublishedScores, PublishScores

    def writers() -> set[str | None]:
        engine = create_engine_from_url(run_db)
        with Session(engine) as s:
            found = set(s.scalars(select(PillarScore.run_id).where(PillarScore.score_as_of == AS_OF)))
        engine.dispose()
        return found

    build(ScoreMarkets(as_of=AS_OF))
    published = PublishScores(as_of=AS_OF).output()
    assert isinstance(published, PublishedScores)
    (writer,) = writers()
    assert writer is not None and last_publisher(run_db, AS_OF, published.publication) == writer
    build(ScoreMarkets(as_of=AS_OF, weights=OTHER))
    assert writers() != {writer} and not published.exists()  # replaced
    assert last_publisher(run_db, AS_OF, published.publication) == writer
    assert last_publisher(run_db, EARLIER, published.publication) is None  # another date
    assert _export().publications() == {
        "current": {"run_id": writer, "publication": published.publication},
        "previous": None,
    }
