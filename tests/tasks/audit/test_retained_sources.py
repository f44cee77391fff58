"""Each fetch keeps the exact source bytes it read (AKER_RETAIN_SOURCES), through the real `luigi` command."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aker_core.sources.location import DATASETS
from aker_core.sources.retain import retained_path, verify_retained
from aker_data.engine import create_engine_from_url
from aker_data.models import Lineage, Run
from aker_tasks.hashing import file_hash
from tests.tasks.audit.conftest import AS_OF, Pipeline


def _fetched(pipeline: Pipeline) -> dict[str, str]:
    """dataset -> the source hash its fetch recorded in the lineage."""
    engine = create_engine_from_url(pipeline.db_url)
    with Session(engine) as s:
        rows = s.execute(
            select(Lineage.table, Lineage.hash)
            .join(Run, Run.run_id == Lineage.run_id)
            .where(Run.task_family == "FetchSource", Lineage.source == "file")
        ).all()
    engine.dispose()
    return {str(t): str(h) for t, h in rows}


def test_each_fetch_retains_its_source_with_the_recorded_hash(pipeline: Pipeline) -> None:
    """After a run every dataset's bytes are kept under the cache, named and verified by the lineage's hash."""
    pipeline.luigi()
    recorded = _fetched(pipeline)
    assert sorted(recorded) == sorted(DATASETS)
    for dataset, content in recorded.items():
        kept = retained_path(pipeline.cache, content, ".csv")
        assert kept.is_file(), dataset
        assert file_hash(kept) == content == file_hash(pipeline.source / f"{dataset}.csv")


def test_retained_bytes_survive_an_in_place_edit_and_deletion(pipeline: Pipeline) -> None:
    """Rewriting a source in place (same inode) and then deleting it leaves the kept bytes as recorded."""
    pipeline.luigi()
    content = _fetched(pipeline)["market_supply"]
    source = pipeline.source / "market_supply.csv"
    original = source.read_bytes()
    inode = source.stat().st_ino
    with open(source, "r+b") as handle:  # what open(path, "w"), pandas or a shell redirect do
        handle.write(original.replace(b"9.62", b"1.11", 1))
    assert source.stat().st_ino == inode and file_hash(source) != content
    kept = retained_path(pipeline.cache, content, ".csv")
    assert kept.read_bytes() == original
    source.unlink()
    assert verify_retained(kept, content) and kept.read_bytes() == original


def test_retention_off_keeps_nothing(pipeline: Pipeline) -> None:
    """AKER_RETAIN_SOURCES=false: the pipeline runs and no source copy is made."""
    pipeline.luigi(AKER_RETAIN_SOURCES="false")
    assert len(pipeline.runs("FetchSource")) == 5
    assert not [p for p in (pipeline.cache / "sources").rglob("*") if p.is_file()]


def test_a_reused_fetch_target_gets_its_missing_copy(pipeline: Pipeline) -> None:
    """A fetch whose target exists but whose source copy does not makes the copy, without recomputing."""
    pipeline.luigi(AKER_RETAIN_SOURCES="false")
    fetches = len(pipeline.runs("FetchSource"))
    pipeline.luigi("FetchSource", "--dataset", "market_jobs", "--as-of", AS_OF)
    content = _fetched(pipeline)["market_jobs"]
    kept = retained_path(pipeline.cache, content, ".csv")
    assert verify_retained(kept, content)
    assert len(pipeline.runs("FetchSource")) == fetches  # the target was reused: no new run
    assert sorted(Path(p).name for p in (pipeline.cache / "sources").rglob("*.csv")) == [kept.name]
