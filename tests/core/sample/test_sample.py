"""Bundled sample, generator CLI and loader."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from aker_core.sample import generate
from aker_core.sample.__main__ import main
from aker_core.sources import DATASETS, SAMPLE_DIR, dataset_path, read_dataset, read_table_from_db
from aker_data.engine import create_engine_from_url


def test_bundled_sample_is_valid():
    """Every bundled dataset reads and validates, with future vintages present."""
    tables = {n: read_dataset(n, dataset_path(SAMPLE_DIR, n)) for n in DATASETS}
    assert tables["markets"].num_rows >= 40
    assert max(tables["market_supply"].column("data_vintage").to_pylist()) > dt.date(2024, 6, 1)


def test_generator_deterministic():
    """The same seed gives identical tables; another seed differs."""
    a, b, c = generate(50, 3, seed=7), generate(50, 3, seed=7), generate(50, 3, seed=8)
    assert all(a[n].equals(b[n]) for n in DATASETS)
    assert not a["market_jobs"].equals(c["market_jobs"])
    assert a["market_jobs"].num_rows == 150


def test_cli_generates_readable_files(tmp_path):
    """`python -m aker_core.sample --markets ... --out ...` writes five valid datasets."""
    for fmt in ("parquet", "csv"):
        out = tmp_path / fmt
        assert main(["--markets", "20", "--vintages", "2", "--out", str(out), "--format", fmt]) == 0
        tables = {n: read_dataset(n, dataset_path(out, n)) for n in DATASETS}
        assert tables["market_urban"].num_rows == 40


def test_database_round_trip(engine, monkeypatch, db_url):
    """Loading the sample and reading it back from the database gives the file tables."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", db_url)
    assert main(["load"]) == 0
    assert main(["load"]) == 0  # idempotent
    for name in DATASETS:
        from_file = read_dataset(name, dataset_path(SAMPLE_DIR, name))
        from_db = read_table_from_db(engine, name, validate=True)
        keys = [("msa_id", "ascending")] + ([("data_vintage", "ascending")] if name != "markets" else [])
        assert from_db.equals(from_file.sort_by(keys)), name
        assert isinstance(from_db, pa.Table)


def test_load_migrates_the_embedded_sqlite_database(sqlite_url, monkeypatch):
    """`load` into a new embedded SQLite file creates the schema first, as the pipeline does."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", sqlite_url)
    assert main(["load"]) == 0
    engine = create_engine_from_url(sqlite_url)
    try:
        assert read_table_from_db(engine, "markets").num_rows >= 40
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_load_into_unmigrated_postgresql_is_a_clear_error(postgres_url, capsys, monkeypatch):
    """`load` into a PostgreSQL database without the schema exits 2 saying to run alembic."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", postgres_url)
    assert main(["load"]) == 2
    assert "alembic upgrade head" in capsys.readouterr().err
