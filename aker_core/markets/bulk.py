"""Dialect-specific bulk upsert (INSERT ... ON CONFLICT DO UPDATE) from column lists.

Rows are sent as one executemany, which SQLAlchemy turns into batched multi-row statements
("insertmanyvalues") on PostgreSQL and a DBAPI ``executemany`` on SQLite; no ORM objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

from aker_core.exceptions import AkerError

__all__ = ["connection_of", "upsert_columns"]


def connection_of(bind: Connection | Session) -> Connection:
    """The connection to execute on: a session's own (same transaction, never committed here)."""
    return bind.connection() if isinstance(bind, Session) else bind


def upsert_columns(
    bind: Connection | Session,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    keys: Sequence[str],
) -> int:
    """Insert rows given as equal-length column lists, updating rows whose ``keys`` already exist.

    Args:
        bind: a connection or session; the caller owns (and commits) the transaction.
        table: the target table; ``keys`` must be a unique constraint of it.
        columns: column name -> values, all the same length.
        keys: the conflict target columns.

    Returns:
        The number of rows sent.

    Raises:
        AkerError: an unsupported database dialect or ragged columns.
    """
    names = list(columns)
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise AkerError(f"upsert into {table.name}: columns have different lengths {sorted(lengths)}")
    count = lengths.pop() if lengths else 0
    if count == 0:
        return 0
    conn = connection_of(bind)
    dialect = conn.dialect.name
    # Imported here: loading the PostgreSQL dialect package costs ~20 ms on SQLite-only runs.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table)
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    else:
        raise AkerError(f"bulk upsert supports sqlite and postgresql, not {dialect}")
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={n: stmt.excluded[n] for n in names if n not in keys},
    )
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    conn.execute(stmt, rows)
    return count
