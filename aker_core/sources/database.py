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
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
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
    latest: bool = False,
    msa_ids: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Read a source table (``markets`` or ``market_*``) in the canonical schema, with one SQL statement.

    Args:
        bind: an engine, connection or session on the run database.
        table_name: a dataset name (see :data:`~aker_core.sources.location.DATASETS`).
        max_vintage: only rows with ``data_vintage <= max_vintage`` (point-in-time pruning in SQL).
        validate: run :func:`~aker_core.sources.validate.validate_table` (the database's constraints
            already guarantee keys; this adds the infinite-value check). An empty table is only an
            error when validating.
        latest: only each market's latest vintage (on or before ``max_vintage`` when given): the
            rows :func:`~aker_core.scoring.latest_as_of` would keep, selected in SQL. Ignored for
            ``markets``.
        msa_ids: only these markets (any number; bound as one parameter, so still one statement).
        columns: only these columns of the canonical schema, in schema order (default all).

    Returns:
        The rows ordered by key, in the canonical schema (restricted to ``columns``).

    Raises:
        DataValidationError: unknown table or column, or (with ``validate``) a failed check.
    """
    if table_name not in SCHEMAS:
        raise DataValidationError(f"unknown source table {table_name!r}; expected one of {', '.join(SCHEMAS)}")
    schema = SCHEMAS[table_name]
    if columns is not None:
        unknown = sorted(set(columns) - set(schema.names))
        if unknown:
            raise DataValidationError(f"unknown column(s) {', '.join(unknown)} of {table_name}")
        schema = pa.schema([f for f in schema if f.name in set(columns)])
    query = _Query(table_name, schema, max_vintage, latest, None if msa_ids is None else list(msa_ids))
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            result = _read(conn, query)
    else:
        result = _read(bind.connection() if isinstance(bind, Session) else bind, query)
    if validate:
        return validate_table(table_name, f"database table {table_name}", result)
    return result


@dataclass(frozen=True)
class _Query:
    """What to read: table, columns and row filters (rendered per dialect by :meth:`sql`)."""

    table_name: str
    schema: pa.Schema
    max_vintage: dt.date | None
    latest: bool
    msa_ids: list[str] | None

    def sql(self, dialect: str) -> tuple[str, tuple[Any, ...]]:
        """The ``SELECT`` and its positional parameters (``?`` for sqlite, ``%s`` for psycopg).

        PostgreSQL exports ``data_vintage`` as a day number since the epoch (see
        :data:`_EPOCH_SQL`); SQLite returns it as stored (ISO text).
        """
        table = Base.metadata.tables[self.table_name]
        mark = "?" if dialect == "sqlite" else "%s"
        versioned = "data_vintage" in table.c
        conditions: list[str] = []
        params: list[Any] = []
        if self.max_vintage is not None and versioned:
            conditions.append(f"{{p}}data_vintage <= {mark}")
            # SQLAlchemy stores SQLite dates as ISO text, so the bound value is compared as text.
            params.append(self.max_vintage.isoformat() if dialect == "sqlite" else self.max_vintage)
        if self.msa_ids is not None:
            # One parameter whatever the number of ids (SQLite limits bound variables per statement).
            if dialect == "sqlite":
                conditions.append(f"{{p}}msa_id IN (SELECT value FROM json_each({mark}))")
                params.append(json.dumps(self.msa_ids))
            else:
                conditions.append(f"{{p}}msa_id = ANY({mark})")
                params.append(self.msa_ids)
        where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        selected = []
        for field in self.schema:
            column = "t." + _quote(field.name)
            if field.name == "data_vintage" and dialect == "postgresql":
                # A day count parses as int32 and casts to date32 for free, whatever the DateStyle.
                column = f"({column} - {_EPOCH_SQL})"
            selected.append(column)
        source = f"{_quote(self.table_name)} AS t"
        keys = ["t." + _quote(k) for k in ("msa_id", "data_vintage") if k in table.c]
        if self.latest and versioned and dialect == "postgresql":
            # DISTINCT ON keeps the first row per market in (msa_id, data_vintage DESC) order: one
            # sort, and no join whose plan depends on statistics (a freshly loaded table has none,
            # and the planner then picked a nested loop three times slower).
            where = where.format(p="t.")
            return (
                f"SELECT DISTINCT ON (t.msa_id) {', '.join(selected)} FROM {source}{where}"
                " ORDER BY t.msa_id, t.data_vintage DESC",
                tuple(params),
            )
        if self.latest and versioned:
            # The unique (msa_id, data_vintage) index serves the grouped MAX; joining back on the
            # full key yields exactly one row per market, the one latest_as_of would keep.
            source += (
                f" JOIN (SELECT msa_id, MAX(data_vintage) AS v FROM {_quote(self.table_name)}"
                f"{where.format(p='')} GROUP BY msa_id) AS l ON t.msa_id = l.msa_id AND t.data_vintage = l.v"
            )
            where = ""
        else:
            where = where.format(p="t.")
        return f"SELECT {', '.join(selected)} FROM {source}{where} ORDER BY {', '.join(keys)}", tuple(params)


def _read(conn: Connection, query: _Query) -> pa.Table:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return _read_postgresql(conn, query)
    if dialect == "sqlite":
        return _read_sqlite(conn, query)
    raise DataValidationError(f"reading source tables supports sqlite and postgresql, not {dialect}")


def _quote(name: str) -> str:
    # Names come from the canonical schemas and models (never from users); quoting guards keywords.
    return '"' + name.replace('"', '""') + '"'


def _read_postgresql(conn: Connection, query: _Query) -> pa.Table:
    import pyarrow.csv as pacsv  # only this path parses CSV; SQLite runs skip loading it

    schema = query.schema
    types = {f.name: pa.int32() if f.name == "data_vintage" else f.type for f in schema}
    sql, params = query.sql("postgresql")
    raw = conn.connection.driver_connection
    buffer = io.BytesIO()
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        # extra_float_digits >= 1 (the default since PostgreSQL 12) prints floats exactly
        # (shortest round-trip form); raise it for this transaction only if someone lowered it.
        cursor.execute("SHOW extra_float_digits")
        row = cursor.fetchone()
        if row is None or int(row[0]) < 1:
            cursor.execute("SET LOCAL extra_float_digits = 3")
        # COPY takes no bind parameters: psycopg merges them client-side (quoted literals).
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params or None) as copy:
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


def _read_sqlite(conn: Connection, query: _Query) -> pa.Table:
    schema = query.schema
    sql, params = query.sql("sqlite")
    result = conn.exec_driver_sql(sql, params)
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
