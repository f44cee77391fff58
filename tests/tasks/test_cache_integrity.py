"""The cache is verified, not trusted: damaged, truncated, 0-byte and leftover files are rebuilt or removed."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aker_tasks import ComposeScores, ExportScores, FetchSource, ScorePillar
from aker_tasks.targets import STALE_TMP_SECONDS, remove_stale_temporaries
from tests.tasks.conftest import build, families, runs_by_family

AS_OF = dt.date(2024, 6, 1)


def _composite() -> dict[str, float | None]:
    table = pq.read_table(ComposeScores(as_of=AS_OF).target().path)
    return dict(zip(table["msa_id"].to_pylist(), table["weighted_0_100"].to_pylist(), strict=True))


def test_bytes_changed_inside_a_cached_target_are_rebuilt(source_dir: Path, run_db: str) -> None:
    """8 bytes overwritten inside a cached pillar parquet: it is rebuilt and the scores stay right."""
    build(ExportScores(as_of=AS_OF))
    expected = _composite()
    pillar = ScorePillar(pillar="jobs", as_of=AS_OF).target().file
    with open(pillar, "r+b") as f:
        f.seek(pillar.stat().st_size // 2)
        f.write(b"\xff" * 8)
    done = build(ExportScores(as_of=AS_OF))
    assert "ScorePillar" in families(done["completed"])
    assert _composite() == expected
    assert ScorePillar(pillar="jobs", as_of=AS_OF).target().exists()


def test_zero_byte_file_without_sidecar_is_not_adopted(source_dir: Path, run_db: str) -> None:
    """A 0-byte final-named file (a power loss before the data reached the disk) is replaced by a real target."""
    build(FetchSource(dataset="markets", as_of=AS_OF))
    target = FetchSource(dataset="markets", as_of=AS_OF).target()
    rows = target.sidecar()["rows"]
    target.sidecar_path.unlink()
    target.file.write_bytes(b"")
    assert not target.exists()
    build(FetchSource(dataset="markets", as_of=AS_OF))
    assert target.exists() and target.file.stat().st_size > 0 and target.sidecar()["rows"] == rows


def test_truncated_target_is_rebuilt(source_dir: Path, run_db: str) -> None:
    """A target cut short (sidecar intact) counts as missing and is rebuilt."""
    build(ComposeScores(as_of=AS_OF))
    expected = _composite()
    target = ComposeScores(as_of=AS_OF).target()
    data = target.file.read_bytes()
    target.file.write_bytes(data[: len(data) // 3])
    build(ComposeScores(as_of=AS_OF))
    assert _composite() == expected
    assert sum(1 for f, s in runs_by_family(run_db) if f == "ComposeScores" and s == "completed") == 2


def test_stale_temporary_files_are_removed_fresh_ones_kept(tmp_path: Path) -> None:
    """Leftover *-luigi-tmp-* files older than the limit go; a file being written now stays."""
    old = tmp_path / "scores-abc.parquet-luigi-tmp-000000001"
    new = tmp_path / "scores-abc.parquet-luigi-tmp-000000002"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    past = time.time() - STALE_TMP_SECONDS - 60
    os.utime(old, (past, past))
    assert remove_stale_temporaries(tmp_path) == [old]
    assert new.exists() and not old.exists()


def test_leftover_temporary_is_cleaned_when_the_task_runs(source_dir: Path, run_db: str) -> None:
    """A crashed writer's stale temporary beside a target is removed by the next run of that task."""
    build(FetchSource(dataset="markets", as_of=AS_OF))
    target = FetchSource(dataset="markets", as_of=AS_OF).target()
    leftover = Path(str(target.file) + "-luigi-tmp-123456789")
    leftover.write_bytes(b"partial")
    past = time.time() - STALE_TMP_SECONDS - 60
    os.utime(leftover, (past, past))
    target.sidecar_path.unlink()
    build(FetchSource(dataset="markets", as_of=AS_OF))
    assert not leftover.exists()


def test_source_changed_while_read_fails_that_fetch(
    source_dir: Path, run_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source file rewritten while it is read fails SourceVintages, naming the file; no target is written."""
    import aker_core.sources.reader as reader

    original = reader.read_dataset

    def read_then_change(name: str, path: str | Path) -> object:
        result = original(name, path)
        Path(path).write_text(Path(path).read_text() + "\n")
        return result

    monkeypatch.setattr(reader, "read_dataset", read_then_change)
    build(FetchSource(dataset="market_supply", as_of=AS_OF), expect_success=False)
    assert ("SourceVintages", "failed") in runs_by_family(run_db)
    targets = source_dir.parent / "cache" / "targets"
    assert not list(targets.rglob("market_supply-*.arrow")) and not list(targets.rglob("market_supply-*.parquet"))
