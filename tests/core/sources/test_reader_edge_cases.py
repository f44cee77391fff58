"""What the readers accept and how they refuse (issue #11): blank cells, decimal and null-typed
parquet columns, bad bytes, ragged rows, text the database cannot hold, paths that are no file."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aker_core.exceptions import DataValidationError
from aker_core.sources import SCHEMAS, dataset_path, read_dataset, read_dataset_as_of, resolve_source_dir
from aker_core.sources.schema import TEXT_MAX_LENGTH
from aker_core.sources.validate import validate_table

URBAN = SCHEMAS["market_urban"]
HEADER = ",".join(URBAN.names)
METRICS = URBAN.names[2:-1]  # the float columns; lastmile_flag last


def _row(msa: str, vintage: str = "2024-01-01", value: str = "10", flag: str = "true") -> str:
    return ",".join([msa, vintage, *([value] * len(METRICS)), flag])


def _csv(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "market_urban") -> Path:
    path = tmp_path / f"{name}.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _error(name: str, path: Path) -> str:
    with pytest.raises(DataValidationError) as info:
        read_dataset(name, path)
    message = str(info.value)
    assert name in message and str(path) in message, message
    assert "\n" not in message and "\x00" not in message, repr(message)
    return message


def _urban_table(rows: int = 3) -> pa.Table:
    return pa.table(
        {
            "msa_id": [str(10000 + i) for i in range(rows)],
            "data_vintage": pa.array([dt.date(2024, 1, 1)] * rows),
            **{m: pa.array([float(i) for i in range(rows)]) for m in METRICS},
            "lastmile_flag": pa.array([True] * rows),
        }
    )


# --- accepted ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", [" ", "   ", "\t", " \t "])
def test_whitespace_only_cells_are_missing(tmp_path, blank):
    """A cell holding only whitespace is a missing value, in a metric and in a flag column."""
    path = _csv(tmp_path, _row("1"), _row("2", value=blank, flag=blank), _row("3", value=f" 7{blank}"))
    table = read_dataset("market_urban", path)
    assert table.column("retail_vac").to_pylist() == [10.0, None, 7.0]
    assert table.column("lastmile_flag").to_pylist() == [True, None, True]
    assert table.schema == URBAN


def test_whitespace_only_date_is_a_missing_date(tmp_path):
    """data_vintage is required: a blank one is refused as missing, naming the row."""
    message = _error("market_urban", _csv(tmp_path, _row("1"), _row("2", vintage="  ")))
    assert "data_vintage" in message and "missing date" in message and "row 2" in message


def test_whitespace_cells_read_like_empty_ones(tmp_path):
    """The slow (text) path gives the same table as the native one would for empty cells."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    rows = [_row("1", value="1.5"), _row("2", value=""), _row("3", value="-2e3", flag="FALSE")]
    native = read_dataset("market_urban", _csv(tmp_path / "a", *rows))
    blank = read_dataset("market_urban", _csv(tmp_path / "b", *[r.replace(",,", ", ,") for r in rows]))
    assert blank.equals(native)


@pytest.mark.parametrize("kind", [pa.decimal128(12, 3), pa.decimal256(50, 3)])
def test_parquet_decimal_metric_is_read_as_numbers(tmp_path, kind):
    """decimal128/decimal256 metric columns become float64 (the nearest double)."""
    table = _urban_table()
    values = pa.array([Decimal("1.125"), None, Decimal("-20.5")], kind)
    table = table.set_column(2, "retail_vac", values)
    path = tmp_path / "market_urban.parquet"
    pq.write_table(table, path)
    for read in (read_dataset("market_urban", path), read_dataset_as_of("market_urban", path, "2024-06-01").table):
        assert read.schema == URBAN
        assert read.column("retail_vac").to_pylist() == [1.125, None, -20.5]


@pytest.mark.parametrize("column", ["retail_vac", "lastmile_flag"])
def test_parquet_null_typed_column_is_missing_values(tmp_path, column):
    """An all-null (null-typed) column is missing values of the schema's type."""
    table = _urban_table()
    table = table.set_column(table.column_names.index(column), column, pa.nulls(3))
    path = tmp_path / "market_urban.parquet"
    pq.write_table(table, path)
    for read in (read_dataset("market_urban", path), read_dataset_as_of("market_urban", path, "2024-06-01").table):
        assert read.schema == URBAN
        assert read.column(column).to_pylist() == [None, None, None]


def test_parquet_null_typed_msa_id_is_refused(tmp_path):
    """A null-typed msa_id column is rows without an id."""
    table = _urban_table().set_column(0, "msa_id", pa.nulls(3))
    pq.write_table(table, tmp_path / "market_urban.parquet")
    message = _error("market_urban", tmp_path / "market_urban.parquet")
    assert "'msa_id'" in message and "empty or null" in message and "row 1" in message


def test_parquet_boolean_metric_stays_refused(tmp_path):
    """Booleans are not numbers: a bool metric column is a type error, a bool flag is kept."""
    table = _urban_table()
    table = table.set_column(2, "retail_vac", table.column("lastmile_flag"))
    pq.write_table(table, tmp_path / "market_urban.parquet")
    assert "has type bool" in _error("market_urban", tmp_path / "market_urban.parquet")


def test_bad_byte_in_an_ignored_column_is_ignored(tmp_path):
    """Only the schema's columns are read: invalid UTF-8 in an extra column does not matter."""
    path = tmp_path / "market_urban.csv"
    path.write_bytes(f"{HEADER},notes\n{_row('1')},caf\xe9\n".encode("latin-1"))
    assert read_dataset("market_urban", path).num_rows == 1


def test_exactly_32_characters_and_multibyte_ids_are_accepted(tmp_path):
    """The limit counts characters like the database does, not bytes."""
    path = _csv(tmp_path, _row("9" * 32), _row("é" * 32))
    assert read_dataset("market_urban", path).column("msa_id").to_pylist() == ["9" * 32, "é" * 32]


# --- refused, naming the row ---------------------------------------------------------------------


@pytest.mark.parametrize(("column", "cell"), [("retail_vac", b"8\xff9"), ("msa_id", b"12\xe90")])
def test_bad_byte_in_a_data_row_names_column_and_row(tmp_path, column, cell):
    """Invalid UTF-8 in a data row is that row's error, not an unreadable header."""
    lines = [HEADER.encode(), *(_row(str(i)).encode() for i in range(1, 5))]
    # Far enough down that a text read-ahead of the header would already have hit it (old bug).
    cells = lines[3].split(b",")
    cells[URBAN.names.index(column)] = cell
    lines[3] = b",".join(cells)
    path = tmp_path / "market_urban.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    message = _error("market_urban", path)
    assert f"'{column}'" in message and "UTF-8" in message and "row 3" in message
    assert "header" not in message


def test_bad_byte_in_the_header(tmp_path):
    """Invalid UTF-8 in the header line says so."""
    path = tmp_path / "market_urban.csv"
    path.write_bytes(HEADER.replace("k8_ct", "k8\xffct").encode("latin-1") + b"\n" + _row("1").encode() + b"\n")
    assert "unreadable CSV header" in _error("market_urban", path)


def test_ragged_rows_are_named(tmp_path):
    """Rows with too few or too many cells are named with their data row number and total."""
    rows = [_row(str(i)) for i in range(1, 9)]
    rows[1] = rows[1].rsplit(",", 1)[0]  # row 2: one cell short
    rows[5] = rows[5] + ",x,y"  # row 6: two cells over
    path = _csv(tmp_path, *rows[:4], "", *rows[4:])  # a blank line is no row
    message = _error("market_urban", path)
    assert "wrong number of cells" in message and "in 2 rows" in message
    assert "row 2: 12 cells" in message and "row 6: 15 cells" in message


def test_unterminated_quote_is_a_ragged_row(tmp_path):
    """A quote nobody closes swallows the rest of the file into one row, which is named."""
    rows = [_row(str(i)) for i in range(1, 4)]
    rows[1] = rows[1].replace(",10,", ',"10,', 1)
    assert "row 2:" in _error("market_urban", _csv(tmp_path, *rows))


def test_header_without_line_end_has_no_rows(tmp_path):
    """A file that is only a header (no newline at all) has no rows."""
    path = tmp_path / "market_urban.csv"
    path.write_text(HEADER)
    assert "no rows" in _error("market_urban", path)


@pytest.mark.parametrize(
    ("msa", "problem"), [("9" * 33, "longer than 32 characters"), ("12\x0060", "NUL"), ("é" * 33, "longer than 32")]
)
def test_msa_id_the_database_cannot_hold(tmp_path, msa, problem):
    """Too long or with a NUL: refused at read time on every backend, naming column and row."""
    path = _csv(tmp_path, _row("1"), _row("2"), _row(msa))
    message = _error("market_urban", path)
    assert "'msa_id'" in message and problem in message and "row 3" in message
    table = _urban_table().set_column(0, "msa_id", pa.array(["1", msa, "3"]))
    pq.write_table(table, tmp_path / "market_urban.parquet")
    for read in (read_dataset, lambda n, p: read_dataset_as_of(n, p, "2024-06-01")):
        with pytest.raises(DataValidationError, match=rf"'msa_id'.*{problem}.*row 2"):
            read("market_urban", tmp_path / "market_urban.parquet")


@pytest.mark.parametrize(("name", "problem"), [("N" * 256, "longer than 255"), ("Bad\x00Name", "NUL")])
def test_market_name_the_database_cannot_hold(tmp_path, name, problem):
    """markets.name: the same rule with its own limit."""
    path = tmp_path / "markets.csv"
    path.write_text(f'msa_id,name\n1,ok\n2,"{name}"\n')
    message = _error("markets", path)
    assert "'name'" in message and problem in message and "row 2" in message


def test_validate_table_checks_text_limits_for_database_sources():
    """The database source is validated alike (SQLite keeps what PostgreSQL would refuse)."""
    table = _urban_table().set_column(0, "msa_id", pa.array(["1", "x" * 40, "3"]))
    with pytest.raises(DataValidationError, match=r"database table market_urban.*'msa_id'.*row 2"):
        validate_table("market_urban", "database table market_urban", table)


def test_text_limits_match_the_database_columns():
    """TEXT_MAX_LENGTH is the String(n) of every table holding the column."""
    from aker_data.models import Base

    checked = 0
    for table in Base.metadata.tables.values():
        for column, limit in TEXT_MAX_LENGTH.items():
            if column in table.c and table.name in ("markets", "pillar_scores", *SCHEMAS):
                assert table.c[column].type.length == limit, (table.name, column)
                checked += 1
    assert checked >= 6


def test_sqlite_database_source_refuses_a_long_msa_id(tmp_path):
    """A market_* table on SQLite holding an over-long id fails validation like a file would."""
    from aker_core.sources import read_table_from_db
    from aker_data.engine import create_engine_from_url
    from aker_data.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = create_engine_from_url(url)
    upgrade(engine)
    engine.dispose()
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        conn.execute("INSERT INTO market_supply (msa_id, data_vintage) VALUES ('1', '2024-01-01')")
        conn.execute("INSERT INTO market_supply (msa_id, data_vintage) VALUES (?, '2024-01-01')", ("7" * 33,))
    engine = create_engine_from_url(url)
    try:
        with pytest.raises(DataValidationError, match=r"market_supply.*'msa_id'.*longer than 32.*row 2"):
            read_table_from_db(engine, "market_supply", validate=True)
    finally:
        engine.dispose()


def test_messages_quote_file_content_on_one_line(tmp_path):
    """Binary garbage: the message escapes control characters (one line, storable in PostgreSQL)."""
    path = tmp_path / "market_urban.csv"
    path.write_bytes(bytes(range(256)) * 4)
    _error("market_urban", path)


# --- paths that are no file ----------------------------------------------------------------------


def _directory(path: Path) -> None:
    path.mkdir()


def _loop(path: Path) -> None:
    path.symlink_to(path.name)


def _broken(path: Path) -> None:
    path.symlink_to("nowhere.csv")


@pytest.mark.parametrize(
    ("make", "problem"), [(_directory, "is a directory"), (_loop, "symbolic link loop"), (_broken, "broken symbolic")]
)
def test_path_that_is_no_file_says_what_it_is(tmp_path, make, problem):
    """A directory, a symlink loop or a broken link where a file should be is named, not 'not found'."""
    make(tmp_path / "market_urban.csv")
    with pytest.raises(DataValidationError, match=problem) as info:
        dataset_path(tmp_path, "market_urban")
    assert "not found" not in str(info.value)
    assert problem in _error("market_urban", tmp_path / "market_urban.csv")


def test_source_directory_symlink_loop(tmp_path):
    """A source URI that is a symlink loop says so."""
    os.symlink(tmp_path / "src", tmp_path / "src")
    with pytest.raises(DataValidationError, match="symbolic link loop"):
        resolve_source_dir(str(tmp_path / "src"))


def test_source_that_is_a_file(tmp_path):
    """A source URI naming a file is not a directory."""
    (tmp_path / "f").write_text("")
    with pytest.raises(DataValidationError, match="is not a directory"):
        resolve_source_dir(str(tmp_path / "f"))
