"""read_dataset_as_of: the same rows as read_dataset + latest_as_of, read column by column.

Bad files fail with the same kinds of error, naming dataset, file, column and rows; a file with
several problems may report a different one first (keys are checked before metric columns).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aker_core.exceptions import DataValidationError
from aker_core.sample import generate, write_datasets
from aker_core.scoring import latest_as_of, parse_as_of
from aker_core.sources import DATASETS, SAMPLE_DIR, SCHEMAS, dataset_path, read_dataset, read_dataset_as_of
from tests.core.scoring.asof_reference import latest_indices

AS_OF_DATES = ("2020-01-01", "2023-06-30", "2024-06-01", "2030-01-01")


def _expected(name: str, path: Path, as_of: str) -> pa.Table:
    table = read_dataset(name, path)
    return latest_as_of(table, as_of) if "data_vintage" in table.column_names else table.sort_by("msa_id")


def _urban(rows: int = 6) -> pa.Table:
    """Three markets x two vintages of market_urban, every metric a distinct value."""
    schema = SCHEMAS["market_urban"]
    columns: dict[str, pa.Array] = {
        "msa_id": pa.array([f"{10000 + i // 2}" for i in range(rows)]),
        "data_vintage": pa.array([dt.date(2023, 1, 1) if i % 2 == 0 else dt.date(2024, 1, 1) for i in range(rows)]),
    }
    for k, field in enumerate(schema):
        if field.name in columns:
            continue
        if pa.types.is_boolean(field.type):
            columns[field.name] = pa.array([i % 3 == 0 for i in range(rows)])
        else:
            columns[field.name] = pa.array([float(100 * k + i) for i in range(rows)])
    return pa.table(columns, schema=schema)


def _write(tmp_path: Path, table: pa.Table, **kwargs: object) -> Path:
    path = tmp_path / "market_urban.parquet"
    pq.write_table(table, path, **kwargs)  # type: ignore[arg-type]
    return path


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _cell(value: str, arrow_type: pa.DataType) -> object:
    """A CSV cell as read_dataset types it: empty is missing, flags true/false, metrics floats."""
    if value == "":
        return None
    if pa.types.is_boolean(arrow_type):
        return value.lower() in ("true", "1")
    if pa.types.is_floating(arrow_type):
        return float(value)
    return value


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("name", DATASETS)
def test_bundled_sample_matches_plain_python_selection(name, suffix, tmp_path):
    """On the bundled sample (as CSV and as parquet) every dataset and date keeps exactly the rows
    the csv module and the plain-Python as-of rule pick, with the file's values."""
    source = dataset_path(SAMPLE_DIR, name)
    rows = _csv_rows(source)
    path = source
    if suffix == ".parquet":
        path = tmp_path / f"{name}.parquet"
        pq.write_table(read_dataset(name, source), path)
    schema = SCHEMAS[name]
    for as_of in AS_OF_DATES:
        read = read_dataset_as_of(name, path, as_of)
        if "data_vintage" in schema.names:
            vintages = [dt.date.fromisoformat(r["data_vintage"]) for r in rows]
            kept = [rows[i] for i in latest_indices([r["msa_id"] for r in rows], vintages, parse_as_of(as_of))]
        else:
            kept = sorted(rows, key=lambda r: r["msa_id"])
        expected = {
            f.name: [
                dt.date.fromisoformat(r[f.name]) if f.name == "data_vintage" else _cell(r[f.name], f.type) for r in kept
            ]
            for f in schema
        }
        assert read.table.to_pydict() == expected, (name, as_of)
        assert read.rows_read == len(rows)
    assert any(read_dataset_as_of(name, path, d).table.num_rows for d in AS_OF_DATES)


def test_generated_parquet_with_several_row_groups_matches(tmp_path):
    """Generated parquet split into small row groups gives the same rows as the whole-table path."""
    write_datasets(generate(500, 3, seed=5), tmp_path / "src", "parquet")
    for name in DATASETS:
        path = dataset_path(tmp_path / "src", name)
        pq.write_table(pq.read_table(path), path, row_group_size=97)
        for as_of in AS_OF_DATES:
            assert read_dataset_as_of(name, path, as_of).table.equals(_expected(name, path, as_of)), (name, as_of)


def test_unsorted_file_gives_sorted_latest_rows(tmp_path):
    """Rows in random order still give one row per market, its latest vintage <= as_of, by msa_id."""
    table = _urban(6)
    shuffled = table.take(pa.array(np.random.default_rng(3).permutation(table.num_rows)))
    read = read_dataset_as_of("market_urban", _write(tmp_path, shuffled), "2024-06-01")
    assert read.table.column("msa_id").to_pylist() == ["10000", "10001", "10002"]
    assert set(read.table.column("data_vintage").to_pylist()) == {dt.date(2024, 1, 1)}
    assert read.table.equals(latest_as_of(table, "2024-06-01"))


def test_no_look_ahead(tmp_path):
    """A vintage after as_of is never used: the older one is kept."""
    read = read_dataset_as_of("market_urban", _write(tmp_path, _urban(6)), "2023-12-31")
    assert read.table.column("data_vintage").to_pylist() == [dt.date(2023, 1, 1)] * 3
    assert read.table.column("walk_15_ct").to_pylist() == _urban(6).column("walk_15_ct").to_pylist()[0::2]


def test_infinite_value_in_a_dropped_vintage_is_still_an_error(tmp_path):
    """An infinite value in a row point-in-time drops is reported, with its file row and msa_id."""
    table = _urban(6)
    values = table.column("walk_15_ct").to_pylist()
    values[1] = math.inf  # row 2: the 2024 vintage of 10000, after the as_of below
    table = table.set_column(table.column_names.index("walk_15_ct"), "walk_15_ct", pa.array(values))
    with pytest.raises(DataValidationError) as info:
        read_dataset_as_of("market_urban", _write(tmp_path, table), "2023-06-30")
    message = str(info.value)
    for fragment in ("market_urban", "walk_15_ct", "infinite value", "row 2", "'10000'"):
        assert fragment in message, (fragment, message)


def test_duplicate_key_names_rows(tmp_path):
    """A duplicate (msa_id, data_vintage) is an error naming both rows."""
    table = pa.concat_tables([_urban(2), _urban(2).slice(0, 1)])
    with pytest.raises(DataValidationError) as info:
        read_dataset_as_of("market_urban", _write(tmp_path, table), "2024-06-01")
    assert "duplicate (msa_id, data_vintage)" in str(info.value)
    assert "row 1" in str(info.value) and "row 3" in str(info.value)


def test_text_in_metric_column_names_the_row(tmp_path):
    """A parquet metric column holding text reports the non-numeric row."""
    table = _urban(4)
    index = table.column_names.index("k8_ct")
    table = table.set_column(index, "k8_ct", pa.array(["1", "2", "many", "4"]))
    with pytest.raises(DataValidationError) as info:
        read_dataset_as_of("market_urban", _write(tmp_path, table), "2024-06-01")
    assert "k8_ct" in str(info.value) and "non-numeric" in str(info.value) and "'many'" in str(info.value)


def test_missing_column_is_named(tmp_path):
    """A parquet file without a schema column names it."""
    path = _write(tmp_path, _urban(2).drop_columns(["transit_ct"]))
    with pytest.raises(DataValidationError, match=r"missing column.*'transit_ct'"):
        read_dataset_as_of("market_urban", path, "2024-06-01")


def test_truncated_parquet_is_a_clear_error(tmp_path):
    """A truncated parquet file is reported as unreadable, not as a pyarrow traceback."""
    path = _write(tmp_path, _urban(6))
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataValidationError, match="unreadable parquet file"):
        read_dataset_as_of("market_urban", path, "2024-06-01")


def test_csv_reads_whole_and_matches(tmp_path):
    """A CSV source goes through the whole-table path with the same result and row count."""
    path = tmp_path / "market_urban.csv"
    table = _urban(6)
    import pyarrow.csv as pacsv

    pacsv.write_csv(table, path)
    read = read_dataset_as_of("market_urban", path, "2024-06-01")
    assert read.rows_read == 6
    assert read.table.equals(_expected("market_urban", path, "2024-06-01"))


@pytest.mark.parametrize("column", ["walk_15_ct", "msa_id"])
def test_repeated_column_is_named(tmp_path, column):
    """A parquet file holding a schema column twice is a clear error naming it, in both readers."""
    table = _urban(2)
    doubled = pa.Table.from_arrays([*table.columns, table.column(column)], names=[*table.column_names, column])
    path = _write(tmp_path, doubled)
    for read in (
        lambda: read_dataset_as_of("market_urban", path, "2024-06-01"),
        lambda: read_dataset("market_urban", path),
    ):
        with pytest.raises(DataValidationError, match=rf"'{column}' appear more than once"):
            read()
