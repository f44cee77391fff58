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


def scores_persisted(as_of: dt.date, output_hash: str, rows: int) -> bool:
    """Whether ``pillar_scores`` for ``as_of`` hold exactly the composite with this content hash.

    ScoreMarkets replaces every row of an as_of in one transaction under one run whose output
    hash is the composite's. So the database holds that composite when the date has ``rows``
    rows, all written by one completed run with that output hash (an empty composite matches a
    date without rows). Rows written by anything else -- e.g. ``PillarScoreService`` for some
    markets -- make it False, and the pipeline persists its result again. An unreachable or
    unmigrated database also answers False (the task then reruns and reports the real error).
    """
    url = get_settings().database_url
    sqlite_file = _plain_sqlite_file(url)
    state = _sqlite_state(sqlite_file, as_of) if sqlite_file is not None else _sqlalchemy_state(url, as_of)
    if state is None:
        return False
    count, with_run, first_run, last_run, held_hash, status = state
    if count == 0:
        return rows == 0
    return (
        count == rows
        and with_run == count
        and first_run == last_run
        and status == "completed"
        and held_hash == output_hash
    )


#: Rows of a date, how many name a run, and the smallest and largest run id (equal: one run).
#: min/max instead of COUNT(DISTINCT): one streaming pass over the (score_as_of, msa_id) index.
ROWS_SQL = "SELECT count(*), count(run_id), min(run_id), max(run_id) FROM pillar_scores WHERE score_as_of = ?"
RUN_SQL = "SELECT output_hash, status FROM runs WHERE run_id = ?"

_State = tuple[int, int, str | None, str | None, str | None, str | None]


def _combine(rows: tuple[object, ...], run: tuple[object, ...] | None) -> _State:
    count, with_run, first, last = rows
    held, status = run if run is not None else (None, None)
    return (
        int(str(count)),
        int(str(with_run)),
        None if first is None else str(first),
        None if last is None else str(last),
        None if held is None else str(held),
        None if status is None else str(status),
    )


def _sqlalchemy_state(url: str, as_of: dt.date) -> _State | None:
    from sqlalchemy import Date, bindparam, text
    from sqlalchemy.exc import SQLAlchemyError

    from aker_data.engine import get_engine

    try:
        with get_engine(url).connect() as conn:
            counts = conn.execute(
                text(ROWS_SQL.replace("?", ":d")).bindparams(bindparam("d", value=as_of, type_=Date))
            ).one()
            run = None
            if counts[2] is not None:
                run = conn.execute(text(RUN_SQL.replace("?", ":r")), {"r": counts[2]}).one_or_none()
    except SQLAlchemyError:
        return None
    return _combine(tuple(counts), None if run is None else tuple(run))


def _plain_sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL (no driver, no query), else None."""
    match = re.fullmatch(r"sqlite(?:\+pysqlite)?:///([^?]+)", url)
    return Path(match.group(1)) if match and match.group(1) != ":memory:" else None


def _sqlite_state(path: Path, as_of: dt.date) -> _State | None:
    # The cached path of the embedded default asks SQLite directly: importing SQLAlchemy would
    # cost more than the rest of a cached run. Read-only, so a missing file is not created.
    try:
        with closing(sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)) as conn:
            counts = conn.execute(ROWS_SQL, (as_of.isoformat(),)).fetchone()
            run = conn.execute(RUN_SQL, (counts[2],)).fetchone() if counts[2] is not None else None
    except sqlite3.Error:
        return None
    return _combine(tuple(counts), run)
