"""read_dataset: canonical schema for good CSV/parquet, and precise errors for bad input."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aker_core.exceptions import DataValidationError
from aker_core.sources import SCHEMAS, read_dataset

URBAN_COLUMNS = SCHEMAS["market_urban"].names
HEADER = ",".join(URBAN_COLUMNS)
METRICS = URBAN_COLUMNS[2:-1]  # every float column; lastmile_flag last


def _row(msa: str, vintage: str, value: str = "10", flag: str = "true") -> str:
    return ",".join([msa, vintage, *([value] * len(METRICS)), flag])


def _csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "market_urban.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _raises(path: Path, *fragments: str) -> str:
    with pytest.raises(DataValidationError) as info:
        read_dataset("market_urban", path)
    message = str(info.value)
    for fragment in ("market_urban", str(path), *fragments):
        assert fragment in message, (fragment, message)
    return message


def test_good_csv_has_canonical_schema(tmp_path):
    """A valid CSV reads into the canonical schema."""
    table = read_dataset("market_urban", _csv(tmp_path, _row("12420", "2024-03-31")))
    assert table.schema == SCHEMAS["market_urban"]
    assert table.column("data_vintage")[0].as_py() == dt.date(2024, 3, 31)


def test_csv_and_parquet_read_identically(tmp_path):
    """The same data as CSV and as parquet give equal tables."""
    csv_path = _csv(tmp_path, _row("12420", "2024-03-31", flag="1"), _row("19100", "2024-03-31", "", "0"))
    from_csv = read_dataset("market_urban", csv_path)
    pq.write_table(from_csv, tmp_path / "market_urban.parquet")
    assert read_dataset("market_urban", tmp_path / "market_urban.parquet").equals(from_csv)


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("FALSE", False), ("1", True), ("0", False)])
def test_csv_flag_spellings(tmp_path, text, expected):
    """lastmile_flag accepts true/false/1/0 in any case."""
    table = read_dataset("market_urban", _csv(tmp_path, _row("1", "2024-01-01", flag=text)))
    assert table.column("lastmile_flag")[0].as_py() is expected


def test_empty_and_nan_metrics_are_missing(tmp_path):
    """Empty cells are null and 'NaN' is NaN: both allowed as missing values."""
    table = read_dataset("market_urban", _csv(tmp_path, _row("1", "2024-01-01", ""), _row("2", "2024-01-01", "NaN")))
    assert table.column("walk_15_ct")[0].as_py() is None
    assert math.isnan(table.column("walk_15_ct")[1].as_py())


def test_extra_columns_ignored(tmp_path):
    """Unknown columns are dropped from the output."""
    path = _csv(tmp_path, _row("1", "2024-01-01") + ",zzz", header=HEADER + ",notes")
    assert read_dataset("market_urban", path).column_names == URBAN_COLUMNS


def test_msa_id_keeps_leading_zeros(tmp_path):
    """msa_id is read as text, so '01234' stays '01234'."""
    assert (
        read_dataset("market_urban", _csv(tmp_path, _row("01234", "2024-01-01"))).column("msa_id")[0].as_py() == "01234"
    )


def test_missing_column(tmp_path):
    """A missing metric column is named."""
    header = HEADER.replace("transit_ct,", "")
    row = ",".join(["1", "2024-01-01", *(["1"] * (len(METRICS) - 1)), "true"])
    _raises(_csv(tmp_path, row, header=header), "missing column", "transit_ct")


def test_non_numeric_text(tmp_path):
    """Text in a metric column names the column, rows, msa_id and value."""
    rows = [_row(str(i), "2024-01-01") for i in range(1, 4)]
    rows[1] = rows[1].replace(",10,", ",abc,", 1)
    message = _raises(_csv(tmp_path, *rows), "retail_vac", "non-numeric", "row 2", "msa_id '2'", "'abc'")
    assert "in 1 row" in message


def test_many_bad_rows_show_few_examples_and_total(tmp_path):
    """Thousands of bad rows give five examples and the total count."""
    rows = [_row(str(i), "2024-01-01", "x") for i in range(2000)]
    message = _raises(_csv(tmp_path, *rows), "in 2000 rows", "1995 more")
    assert message.count("row ") <= 7


def test_unparseable_date(tmp_path):
    """A bad date names data_vintage and the row."""
    _raises(
        _csv(tmp_path, _row("1", "2024-01-01"), _row("2", "2024-02-30")), "data_vintage", "unparseable date", "row 2"
    )


def test_missing_date(tmp_path):
    """An empty date is an error naming data_vintage."""
    _raises(_csv(tmp_path, _row("1", "")), "data_vintage", "missing date", "row 1")


def test_bad_flag(tmp_path):
    """A flag other than true/false/1/0 is named."""
    _raises(_csv(tmp_path, _row("1", "2024-01-01", flag="maybe")), "lastmile_flag", "'maybe'")


@pytest.mark.parametrize("msa", ["", "   "])
def test_empty_msa_id(tmp_path, msa):
    """An empty or blank msa_id is an error naming the row."""
    _raises(_csv(tmp_path, _row("1", "2024-01-01"), _row(msa, "2024-01-01")), "msa_id", "empty or null", "row 2")


def test_null_msa_id_in_parquet(tmp_path):
    """A null msa_id in parquet is an error."""
    table = read_dataset("market_urban", _csv(tmp_path, _row("1", "2024-01-01")))
    table = table.set_column(0, "msa_id", pa.array([None], pa.string()))
    pq.write_table(table, tmp_path / "x.parquet")
    with pytest.raises(DataValidationError, match=r"msa_id.*empty or null"):
        read_dataset("market_urban", tmp_path / "x.parquet")


def test_duplicate_key(tmp_path):
    """Two rows with the same (msa_id, data_vintage) name both rows."""
    rows = [_row("1", "2024-01-01"), _row("2", "2024-01-01"), _row("1", "2024-01-01")]
    _raises(_csv(tmp_path, *rows), "duplicate (msa_id, data_vintage)", "in 2 rows", "row 1", "row 3")


def test_infinite_value(tmp_path):
    """An infinite metric value is an error naming column and row."""
    _raises(_csv(tmp_path, _row("1", "2024-01-01", "inf")), "retail_vac", "infinite", "row 1")


def test_zero_byte_file(tmp_path):
    """A 0-byte file says 'no rows'."""
    path = tmp_path / "market_urban.csv"
    path.write_bytes(b"")
    _raises(path, "no rows")


def test_header_only(tmp_path):
    """A header without data says 'no rows'."""
    _raises(_csv(tmp_path), "no rows")


def test_header_only_parquet(tmp_path):
    """An empty parquet table says 'no rows'."""
    pq.write_table(SCHEMAS["market_urban"].empty_table(), tmp_path / "market_urban.parquet")
    _raises(tmp_path / "market_urban.parquet", "no rows")


def test_truncated_parquet(tmp_path):
    """A truncated parquet file is a DataValidationError chaining pyarrow's error."""
    good = read_dataset("market_urban", _csv(tmp_path, _row("1", "2024-01-01")))
    path = tmp_path / "market_urban.parquet"
    pq.write_table(good, path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataValidationError, match="corrupt") as info:
        read_dataset("market_urban", path)
    assert info.value.__cause__ is not None


def test_parquet_text_metric(tmp_path):
    """A parquet metric column holding text is checked row by row like CSV."""
    table = read_dataset("market_urban", _csv(tmp_path, _row("1", "2024-01-01"), _row("2", "2024-01-01")))
    table = table.set_column(2, "retail_vac", pa.array(["1.5", "lots"]))
    pq.write_table(table, tmp_path / "market_urban.parquet")
    _raises(tmp_path / "market_urban.parquet", "retail_vac", "non-numeric", "row 2", "'lots'")


def test_markets_dataset(tmp_path):
    """markets reads msa_id and name as strings and rejects duplicate msa_id."""
    path = tmp_path / "markets.csv"
    path.write_text('msa_id,name\n12420,"Austin-Round Rock-San Marcos, TX"\n')
    assert read_dataset("markets", path).to_pylist() == [
        {"msa_id": "12420", "name": "Austin-Round Rock-San Marcos, TX"}
    ]
    path.write_text("msa_id,name\n1,a\n1,b\n")
    with pytest.raises(DataValidationError, match="duplicate msa_id"):
        read_dataset("markets", path)


def test_unknown_dataset(tmp_path):
    """An unknown dataset name is rejected."""
    with pytest.raises(DataValidationError, match="unknown dataset"):
        read_dataset("market_weather", tmp_path / "x.csv")
