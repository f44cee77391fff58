"""preload_runtime and the per-task modules loaded before workers fork."""

from __future__ import annotations

import datetime as dt
import gc
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from aker_core.config import reset_settings
from aker_tasks import ExportScores, PublishScores, SourceVintages, base

AS_OF = dt.date(2024, 6, 1)


@pytest.fixture
def fresh_preload(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """preload_runtime as in a new process (not yet run), restoring the collector's state afterwards."""
    monkeypatch.setattr(base, "_preloaded", False)
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_preload_leaves_the_collector_enabled(fresh_preload: None) -> None:
    """The collector paused for the imports is running again afterwards."""
    gc.enable()
    base.preload_runtime()
    assert gc.isenabled()


def test_preload_keeps_a_disabled_collector_disabled(fresh_preload: None) -> None:
    """A caller that disabled the collector finds it still disabled."""
    gc.disable()
    base.preload_runtime()
    assert not gc.isenabled()


def test_preload_imports_extra_modules_after_the_first_call(
    fresh_preload: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later call with modules not loaded yet imports them."""
    base.preload_runtime()
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    base.preload_runtime(("colorsys",))
    assert "colorsys" in sys.modules


def test_csv_source_fetch_asks_for_the_csv_reader(source_dir: Path) -> None:
    """Reading a CSV source needs pyarrow.csv loaded before the fork."""
    assert SourceVintages(dataset="market_jobs").runtime_modules() == ("pyarrow.csv",)


def test_parquet_source_fetch_needs_no_extra_modules(source_dir: Path) -> None:
    """Reading a parquet source does not load pyarrow.csv."""
    path = source_dir / "market_jobs.csv"
    pq.write_table(pacsv.read_csv(path), source_dir / "market_jobs.parquet")
    path.unlink()
    assert SourceVintages(dataset="market_jobs").runtime_modules() == ()


@pytest.mark.parametrize(("fmt", "modules"), [("csv", ("pyarrow.csv",)), ("parquet", ()), ("jsonl", ())])
def test_export_asks_for_the_csv_writer_only_for_csv(fmt: str, modules: tuple[str, ...]) -> None:
    """Only CSV exports need pyarrow.csv."""
    assert ExportScores(as_of=AS_OF, format=fmt).runtime_modules() == modules


@pytest.mark.parametrize(
    ("dsn", "modules"),
    [
        (None, ()),
        ("sqlite:////tmp/elsewhere.db", ()),
        ("postgresql+psycopg://aker@127.0.0.1:5432/aker", ("pyarrow.csv",)),
        ("postgres://aker@127.0.0.1:5432/aker", ("pyarrow.csv",)),
    ],
)
def test_publish_asks_for_the_csv_writer_only_for_postgresql(
    dsn: str | None, modules: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PublishScores needs pyarrow.csv for PostgreSQL's COPY, not on SQLite (the default)."""
    if dsn is not None:
        monkeypatch.setenv("AKER_POSTGIS_DSN", dsn)
    reset_settings()
    assert PublishScores(as_of=AS_OF).runtime_modules() == modules
