"""Reading source tables from the run database (``AKER_SOURCE_URI=database``).

One ``SELECT`` per table; rows are transposed into Arrow columns without building ORM objects.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from sqlalchemy import Connection, Engine, String, select, type_coerce
from sqlalchemy.orm import Session

from aker_core.exceptions import DataValidationError
from aker_core.sources.schema import SCHEMAS
from aker_core.sources.validate import validate_table
from aker_data.models import Base

__all__ = ["read_table_from_db"]


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
    schema = SCHEMAS[table_name]
    table = Base.metadata.tables[table_name]
    dialect = _dialect(bind)
    columns = []
    for field in schema:
        column = table.c[field.name]
        # SQLite stores dates as text: read the text and let Arrow parse it vectorised.
        if field.name == "data_vintage" and dialect == "sqlite":
            columns.append(type_coerce(column, String).label(field.name))
        else:
            columns.append(column)
    query = select(*columns)
    if max_vintage is not None and "data_vintage" in table.c:
        query = query.where(table.c.data_vintage <= max_vintage)
    query = query.order_by(*(table.c[k] for k in ("msa_id", "data_vintage") if k in table.c))
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            rows = conn.execute(query).all()
    else:
        rows = bind.execute(query).all()
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for field, values in zip(schema, transposed, strict=True):
        if field.name == "data_vintage" and dialect == "sqlite":
            arrays.append(pa.array(values, pa.string()).cast(pa.date32()))
        elif field.type == pa.bool_():
            arrays.append(pa.array([None if v is None else bool(v) for v in values], pa.bool_()))
        else:
            arrays.append(pa.array(values, field.type))
    result = pa.Table.from_arrays(arrays, schema=schema)
    if validate:
        return validate_table(table_name, f"database table {table_name}", result)
    return result


def _dialect(bind: Engine | Connection | Session) -> str:
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name
