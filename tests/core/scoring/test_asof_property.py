"""Every path that picks each market's latest vintage agrees with the plain-Python rule on random inputs.

The paths: ``latest_as_of`` (a table: sorted fast path, sort path, null ids), ``latest_rows`` (key
columns only), ``read_dataset_as_of`` on parquet (column by column) and on CSV (whole table), and
``read_table_from_db(latest=True)`` (SQLite's grouped MAX join, PostgreSQL's DISTINCT ON). Inputs
come unsorted, market-major, vintage-major and reversed, with ties and nulls where a path allows
them (files and the database refuse duplicate or null keys, so they get unique, non-null keys).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert

from aker_core.scoring.asof import latest_as_of, latest_rows
from aker_core.sources import SCHEMAS, read_dataset_as_of, read_table_from_db
from aker_data.models import MarketUrban

from .asof_reference import latest_indices

D = dt.date
DATASET = "market_urban"
#: The metric that carries each row's input position, so a kept row can be identified.
TAG = "walk_15_ct"
# Few markets and days, so that markets repeat, vintages tie and as_of falls among them.
IDS = st.sampled_from(["A", "B", "a", "10", "9", "B2"])
DAYS = st.dates(min_value=D(2024, 1, 1), max_value=D(2024, 1, 10))
Row = tuple[str | None, D | None]

ORDERS: dict[str, Callable[[list[Row]], list[Row]]] = {
    "as drawn": lambda rows: rows,
    "market-major": lambda rows: sorted(rows, key=lambda r: (r[0] or "", r[1] or D.min)),
    "vintage-major": lambda rows: sorted(rows, key=lambda r: (r[1] or D.min, r[0] or "")),
    "reversed": lambda rows: sorted(rows, key=lambda r: (r[0] or "", r[1] or D.min), reverse=True),
}
EXAMPLES = settings(max_examples=60, deadline=None)


def _ordered(rows: list[Row], order: str) -> list[Row]:
    return ORDERS[order](rows)


def _table(rows: list[Row]) -> pa.Table:
    """A market_urban table of ``rows`` with TAG = input position and the other metrics null."""
    schema = SCHEMAS[DATASET]
    columns: dict[str, pa.Array] = {
        "msa_id": pa.array([r[0] for r in rows], pa.string()),
        "data_vintage": pa.array([r[1] for r in rows], pa.date32()),
    }
    for field in schema:
        if field.name not in columns:
            values = [float(i) for i in range(len(rows))] if field.name == TAG else [None] * len(rows)
            columns[field.name] = pa.array(values, field.type)
    return pa.table(columns, schema=schema)


def _expected_tags(rows: list[Row], as_of: D) -> list[float]:
    return [float(i) for i in latest_indices([r[0] for r in rows], [r[1] for r in rows], as_of)]


any_rows = st.lists(st.tuples(st.none() | IDS, st.none() | DAYS), max_size=30)
unique_rows = st.lists(st.tuples(IDS, DAYS), min_size=1, max_size=30, unique=True)


@EXAMPLES
@given(rows=any_rows, order=st.sampled_from(sorted(ORDERS)), as_of=DAYS)
def test_latest_as_of_agrees(rows: list[Row], order: str, as_of: D) -> None:
    """latest_as_of keeps the rows of the plain-Python rule, in its order (ties, nulls, any order)."""
    rows = _ordered(rows, order)
    out = latest_as_of(_table(rows), as_of)
    assert out.column(TAG).to_pylist() == _expected_tags(rows, as_of)
    assert out.column_names == SCHEMAS[DATASET].names


@EXAMPLES
@given(rows=any_rows, order=st.sampled_from(sorted(ORDERS)), as_of=DAYS)
def test_latest_rows_agrees(rows: list[Row], order: str, as_of: D) -> None:
    """latest_rows on the key columns returns the rule's row numbers (null ids left out first)."""
    rows = [r for r in _ordered(rows, order) if r[0] is not None]
    table = _table(rows)
    picked = latest_rows(table.column("msa_id"), table.column("data_vintage"), as_of).tolist()
    assert picked == latest_indices([r[0] for r in rows], [r[1] for r in rows], as_of)


@EXAMPLES
@given(
    rows=unique_rows, order=st.sampled_from(sorted(ORDERS)), as_of=DAYS, suffix=st.sampled_from([".parquet", ".csv"])
)
def test_file_reader_agrees(rows: list[Row], order: str, as_of: D, suffix: str) -> None:
    """read_dataset_as_of on a parquet (column by column) or CSV file keeps the rule's rows."""
    rows = _ordered(rows, order)
    table = _table(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{DATASET}{suffix}"
        if suffix == ".parquet":
            pq.write_table(table, path)
        else:
            pcsv.write_csv(table, path)
        read = read_dataset_as_of(DATASET, path, as_of)
    assert read.table.column(TAG).to_pylist() == _expected_tags(rows, as_of)
    assert read.rows_read == len(rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=unique_rows, order=st.sampled_from(sorted(ORDERS)), as_of=DAYS)
def test_database_reader_agrees(engine: Engine, rows: list[Row], order: str, as_of: D) -> None:
    """read_table_from_db(latest=True) keeps the rule's rows on SQLite (MAX join) and PostgreSQL (DISTINCT ON)."""
    rows = _ordered(rows, order)
    with engine.begin() as conn:
        conn.execute(delete(MarketUrban))
        conn.execute(
            insert(MarketUrban),
            [{"msa_id": m, "data_vintage": v, TAG: float(i)} for i, (m, v) in enumerate(rows)],
        )
    out = read_table_from_db(engine, DATASET, max_vintage=as_of, latest=True)
    assert out.column(TAG).to_pylist() == _expected_tags(rows, as_of)


def test_tie_keeps_first_row_in_input_order() -> None:
    """Two rows of one market and vintage: the first one given is kept, not the later one."""
    rows: list[Row] = [("A", D(2024, 1, 2)), ("B", D(2024, 1, 1)), ("A", D(2024, 1, 2))]
    assert latest_as_of(_table(rows), D(2024, 1, 5)).column(TAG).to_pylist() == [0.0, 1.0]


def test_null_ids_are_dropped_even_when_all_ids_are_null() -> None:
    """Rows without a market id are never kept -- also when no row has an id."""
    rows: list[Row] = [(None, D(2024, 1, 1)), (None, D(2024, 1, 2))]
    assert latest_as_of(_table(rows), D(2024, 1, 5)).num_rows == 0
