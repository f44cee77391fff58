"""Engines for the run database: SQLite (embedded default) and PostgreSQL.

One engine per process and URL (:func:`get_engine`); :func:`create_engine_from_url` builds a new
one with the per-backend settings aker relies on.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

__all__ = ["create_engine_from_url", "dispose_engines", "get_engine", "normalise_url"]

#: How long a SQLite writer waits for another process's write lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def normalise_url(url: str | URL) -> URL:
    """Parse ``url`` and pin PostgreSQL to the psycopg 3 driver aker depends on."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL is a property of the file: set it once. Switching needs an exclusive lock that
        # SQLite may refuse without waiting while another process writes; that process's
        # connection (or the next one) sets it, so a refusal here is harmless.
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            with contextlib.suppress(sqlite3.OperationalError):
                cursor.execute("PRAGMA journal_mode=WAL")
        # WAL is crash-safe with NORMAL; FULL would fsync every commit for no gain here.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def create_engine_from_url(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with aker's per-backend settings.

    SQLite gets foreign keys, WAL, a busy timeout and its parent directory created; PostgreSQL
    gets ``pool_pre_ping`` and the psycopg 3 driver.

    Args:
        url: any SQLAlchemy URL (``sqlite:///path``, ``postgresql://user@host/db`` ...).
        **kwargs: passed to :func:`sqlalchemy.create_engine`.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def get_engine(url: str | URL) -> Engine:
    """Return this process's engine for ``url``, creating it on first use."""
    key = normalise_url(url).render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = create_engine_from_url(key)
        return engine


def _forget_engines_in_child() -> None:
    # A forked Luigi worker must not share pooled connections with its parent: drop them
    # without closing (closing would close the parent's sockets too).
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_in_child)


def dispose_engines() -> None:
    """Dispose every engine :func:`get_engine` made (tests; before forking workers)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
