"""Bad source data: a clear error naming dataset/column/rows, non-zero result, nothing lost."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from aker_tasks import ComposeScores, ExportScores, ScoreMarkets
from aker_tasks.targets import CacheTarget
from tests.tasks.conftest import build, db_counts

AS_OF = dt.date(2024, 6, 1)


def _edit_cell(path: Path, column: str, row: int, value: str) -> None:
    """Set one cell (row 1 = first data row) as raw text, so invalid values can be written."""
    lines = path.read_text().splitlines()
    header = [c.strip('"') for c in lines[0].split(",")]
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def _drop_column(path: Path, column: str) -> None:
    table = pacsv.read_csv(path)
    pacsv.write_csv(table.drop_columns([column]), path)


def _duplicate_row(path: Path, row: int) -> None:
    lines = path.read_text().splitlines()
    lines.insert(row + 1, lines[row])
    path.write_text("\n".join(lines) + "\n")


def _truncated_parquet(src: Path) -> None:
    dest = src.with_suffix(".parquet")
    pq.write_table(pacsv.read_csv(src), dest)
    src.unlink()
    data = dest.read_bytes()
    dest.write_bytes(data[: len(data) // 2])


CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "missing dataset": (lambda d: (d / "market_urban.csv").unlink(), ["market_urban"]),
    "missing column": (lambda d: _drop_column(d / "market_supply.csv", "tom_days"), ["market_supply", "tom_days"]),
    "non-numeric text": (
        lambda d: _edit_cell(d / "market_supply.csv", "vacancy_rate", 3, "abc"),
        ["market_supply", "vacancy_rate", "abc"],
    ),
    "unparseable date": (
        lambda d: _edit_cell(d / "market_jobs.csv", "data_vintage", 2, "2024-13-45"),
        ["market_jobs", "data_vintage"],
    ),
    "empty msa_id": (lambda d: _edit_cell(d / "market_outdoors.csv", "msa_id", 4, ""), ["market_outdoors", "msa_id"]),
    "duplicate key": (lambda d: _duplicate_row(d / "market_urban.csv", 5), ["market_urban", "duplicate"]),
    "infinite value": (
        lambda d: _edit_cell(d / "market_supply.csv", "permit_per_1k", 2, "inf"),
        ["market_supply", "permit_per_1k"],
    ),
    "empty file": (lambda d: (d / "market_jobs.csv").write_text(""), ["market_jobs"]),
    "truncated parquet": (lambda d: _truncated_parquet(d / "market_outdoors.csv"), ["market_outdoors"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_source_fails_cleanly(
    case: str, source_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The run fails naming what is wrong, and earlier targets and scores stay intact."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", sqlite_url)
    build(ScoreMarkets(as_of=AS_OF))
    good = ComposeScores(as_of=AS_OF).output()
    export = ExportScores(as_of=AS_OF).output()
    assert isinstance(good, CacheTarget) and isinstance(export, CacheTarget)
    before_bytes = Path(good.path).read_bytes()
    exported = Path(export.path).read_bytes()
    before = db_counts(sqlite_url)

    corrupt, expected = CASES[case]
    corrupt(source_dir)
    caplog.set_level(logging.ERROR)
    # A new task instance: its config fingerprint is that of the corrupted sources.
    build(ScoreMarkets(as_of=AS_OF), expect_success=False)

    text = caplog.text
    for word in expected:
        assert word in text, f"{word!r} not in the error output:\n{text[-2000:]}"
    assert Path(good.path).read_bytes() == before_bytes
    assert Path(export.path).read_bytes() == exported
    after = db_counts(sqlite_url)
    assert after["pillar_scores"] == before["pillar_scores"]
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from aker_data.engine import create_engine_from_url
    from aker_data.models import PillarScore, Run

    engine = create_engine_from_url(sqlite_url)
    with Session(engine) as s:
        statuses = s.execute(select(Run.task_family, Run.status)).all()
        # Scores still belong to the good run.
        owner = s.scalars(select(PillarScore.run_id).limit(1)).one()
        assert s.get(Run, owner).status == "completed"  # type: ignore[union-attr]
    engine.dispose()
    assert not [f for f, status in statuses if status == "running"]
    # The composite and its publication are still the good run's only ones.
    for family in ("ComposeScores", "PublishScores", "ExportScores"):
        assert [status for f, status in statuses if f == family] == ["completed"]
    if case != "missing dataset":  # that one fails while scheduling, before any run starts
        assert ("SourceVintages", "failed") in statuses
