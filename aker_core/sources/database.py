"""Reading source tables from the run database (``AKER_SOURCE_URI=database``).

One statement per table, with no ORM objects and no per-row SQLAlchemy processing:

* PostgreSQL streams ``COPY (SELECT ...) TO STDOUT`` as CSV and ``pyarrow.csv`` parses it with
  explicit column types (vectorised, in C++);
* SQLite is read through the raw DBAPI cursor and the rows are transposed with ``zip`` into
  typed Arrow arrays (sqlite3 has no columnar export, so this is the cheapest Python path).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from aker_core.exceptions import DataValidationError
from aker_core.sources.schema import SCHEMAS
from aker_core.sources.validate import validate_table
from aker_data.models import Base

__all__ = ["read_table_from_db"]

#: The epoch as a SQL literal: PostgreSQL exports dates as day numbers since it (= Arrow date32).
_EPOCH_SQL = "DATE '1970-01-01'"


def read_table_from_db(
    bind: Engine | Connection | Session,
    table_name: str,
    *,
    max_vintage: dt.date | None = None,
    validate: bool = False,
) -> pa.Table:
    """Read a source table (``markets`` or ``market_*``) in the canonical schema, with one SQL statement.

    Args:
        bind: an engine, connection or session on the run database.
        table_name: a dataset name (see :data:`~aker_core.sources.schema.DATASETS`).
        max_vintage: only rows with ``data_vintage <= max_vintage`` (point-in-time pruning in SQL).
        validate: run :func:`~aker_core.sources.validate.validate_table` (the database's constraints
            already guarantee keys; this adds the infinite-value check). An empty table is only an
            error when validating.

    Returns:
        The rows ordered by key, in the canonical schema.

    Raises:
        DataValidationError: unknown table, or (with ``validate``) a failed check.
    """
    if table_name not in SCHEMAS:
        raise DataValidationError(f"unknown source table {table_name!r}; expected one of {', '.join(SCHEMAS)}")
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            result = _read(conn, table_name, max_vintage)
    else:
        result = _read(bind.connection() if isinstance(bind, Session) else bind, table_name, max_vintage)
    if validate:
        return validate_table(table_name, f"database table {table_name}", result)
    return result


def _read(conn: Connection, table_name: str, max_vintage: dt.date | None) -> pa.Table:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return _read_postgresql(conn, table_name, max_vintage)
    if dialect == "sqlite":
        return _read_sqlite(conn, table_name, max_vintage)
    raise DataValidationError(f"reading source tables supports sqlite and postgresql, not {dialect}")


def _quote(name: str) -> str:
    # Names come from the canonical schemas and models (never from users); quoting guards keywords.
    return '"' + name.replace('"', '""') + '"'


def _where_order(table_name: str, vintage_sql: str | None) -> str:
    """``WHERE`` (when ``vintage_sql`` bounds the vintage) and ``ORDER BY`` clauses shared by both dialects."""
    table = Base.metadata.tables[table_name]
    sql = ""
    if vintage_sql is not None and "data_vintage" in table.c:
        sql += f" WHERE data_vintage <= {vintage_sql}"
    keys = [_quote(k) for k in ("msa_id", "data_vintage") if k in table.c]
    return sql + " ORDER BY " + ", ".join(keys)


def _read_postgresql(conn: Connection, table_name: str, max_vintage: dt.date | None) -> pa.Table:
    schema = SCHEMAS[table_name]
    selected = []
    types: dict[str, pa.DataType] = {}
    for field in schema:
        if field.name == "data_vintage":
            # A day count parses as int32 and casts to date32 for free, whatever the DateStyle.
            selected.append(f"(data_vintage - {_EPOCH_SQL})")
            types[field.name] = pa.int32()
        else:
            selected.append(_quote(field.name))
            types[field.name] = field.type
    # COPY takes no bind parameters; a date's ISO form is a safe literal.
    where = _where_order(table_name, None if max_vintage is None else f"DATE '{max_vintage.isoformat()}'")
    query = f"SELECT {', '.join(selected)} FROM {_quote(table_name)}{where}"
    raw = conn.connection.driver_connection
    buffer = io.BytesIO()
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        # extra_float_digits >= 1 (the default since PostgreSQL 12) prints floats exactly
        # (shortest round-trip form); raise it for this transaction only if someone lowered it.
        cursor.execute("SHOW extra_float_digits")
        row = cursor.fetchone()
        if row is None or int(row[0]) < 1:
            cursor.execute("SET LOCAL extra_float_digits = 3")
        with cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
            # psycopg yields one chunk per row: append them without intermediate copies.
            for chunk in copy:
                buffer.write(chunk)
    if not buffer.tell():
        return schema.empty_table()
    buffer.seek(0)
    parsed = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=schema.names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            # COPY CSV writes NULL as an empty unquoted field and an empty string as "".
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    arrays = []
    for field in schema:
        column = parsed.column(field.name).combine_chunks()
        arrays.append(column.cast(pa.date32()) if field.name == "data_vintage" else column)
    return pa.Table.from_arrays(arrays, schema=schema)


def _read_sqlite(conn: Connection, table_name: str, max_vintage: dt.date | None) -> pa.Table:
    schema = SCHEMAS[table_name]
    # SQLAlchemy stores SQLite dates as ISO text, so the bound parameter is compared as text too.
    where = _where_order(table_name, None if max_vintage is None else "?")
    bound = () if max_vintage is None or "?" not in where else (max_vintage.isoformat(),)
    query = f"SELECT {', '.join(_quote(f.name) for f in schema)} FROM {_quote(table_name)}{where}"
    result = conn.exec_driver_sql(query, bound)
    try:
        # The DBAPI cursor's tuples directly: no SQLAlchemy Row per record.
        rows = result.cursor.fetchall()
    finally:
        result.close()
    transposed: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for field, values in zip(schema, transposed, strict=True):
        if field.name == "data_vintage":
            # Dates are text in SQLite: Arrow parses the ISO strings vectorised.
            arrays.append(pa.array(values, pa.string()).cast(pa.date32()))
        elif field.type == pa.bool_():
            # SQLite stores booleans as 0/1 integers.
            arrays.append(pa.array(values, pa.int64()).cast(pa.bool_()))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)
