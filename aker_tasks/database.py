"""The run database as the tasks see it: one engine per process, schema checked once."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from contextlib import closing
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from aker_core.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["run_engine", "scores_persisted"]


@lru_cache(maxsize=1)
def _checked(url: str) -> Engine:
    from aker_data.engine import get_engine, normalise_url
    from aker_data.migrate import ensure_schema  # alembic: only paid when a task runs

    engine = get_engine(url)
    # The embedded SQLite default belongs to this cache, so aker may create/upgrade it; a
    # shared server's schema only changes through an explicit `alembic upgrade head`.
    ensure_schema(engine, auto_upgrade=normalise_url(url).get_backend_name() == "sqlite")
    return engine


def run_engine() -> Engine:
    """This process's engine on the configured run database, at the current schema.

    Raises:
        SchemaOutOfDateError: a non-SQLite database is not at the Alembic head.
    """
    return _checked(get_settings().database_url)


def scores_persisted(as_of: dt.date, output_hash: str) -> bool:
    """Whether ``pillar_scores`` for ``as_of`` hold the composite whose content hash is given.

    Persisting replaces every row of an as_of in one transaction under one run, so one row's
    run tells which composite the database holds. An unreachable or empty database answers
    False (the task then reruns and reports the real error).
    """
    url = get_settings().database_url
    sqlite_file = _plain_sqlite_file(url)
    if sqlite_file is not None:
        return _sqlite_output_hash(sqlite_file, as_of) == output_hash
    from sqlalchemy import Date, bindparam, text
    from sqlalchemy.exc import SQLAlchemyError

    from aker_data.engine import get_engine

    query = text(PERSISTED_SQL.replace("?", ":as_of")).bindparams(bindparam("as_of", value=as_of, type_=Date))
    try:
        with get_engine(url).connect() as conn:
            held = conn.execute(query).scalar_one_or_none()
    except SQLAlchemyError:
        return False
    return bool(held == output_hash)


#: Which composite the database holds for a date (the hash of the run that persisted it).
PERSISTED_SQL = (
    "SELECT r.output_hash FROM pillar_scores AS p JOIN runs AS r ON r.run_id = p.run_id "
    "WHERE p.score_as_of = ? AND r.status = 'completed' LIMIT 1"
)


def _plain_sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL (no driver, no query), else None."""
    match = re.fullmatch(r"sqlite(?:\+pysqlite)?:///([^?]+)", url)
    return Path(match.group(1)) if match and match.group(1) != ":memory:" else None


def _sqlite_output_hash(path: Path, as_of: dt.date) -> str | None:
    # The cached path of the embedded default asks SQLite directly: importing SQLAlchemy would
    # cost more than the rest of a cached run. Read-only, so a missing file is not created.
    try:
        with closing(sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)) as conn:
            row = conn.execute(PERSISTED_SQL, (as_of.isoformat(),)).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])
