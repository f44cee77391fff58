"""Read-only questions to the run database: the one way aker asks them.

Completeness checks (is a date published? which run published it?), the export's previous
publication and the audit commands only *read*. They share one rule for how:

* the embedded SQLite default (a plain ``sqlite:///file`` URL) is read through the standard
  library's driver: a fully cached run asks the database a question or two, and importing
  SQLAlchemy for them would cost more than the rest of that run (measured ~80 ms of ~0.3 s).
  The file is never created (a lost database stays lost, it does not come back empty) and a
  read leaves no ``-wal``/``-shm`` files behind: it opens read-write but writes nothing, so the
  last connection to close removes them; where the file cannot be opened for writing (a
  read-only copy), it is read as immutable, since nobody can be writing it either;
* every other database through this process's SQLAlchemy engine
  (:func:`aker_data.engine.database_engine`: aker's timeouts and error translation).

Dates are bound as dates on PostgreSQL and as the ISO text SQLAlchemy stores on SQLite.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from aker_core.exceptions import AkerError

__all__ = ["DatabaseUnreadable", "Rows", "read_rows", "sqlite_file"]


class DatabaseUnreadable(AkerError):
    """The database cannot answer a read-only question: missing file, unreachable, no such table.

    The message names the database without its password; the driver's error is the ``__cause__``.
    (An :class:`~aker_core.exceptions.AkerError`, not an :class:`aker_data.DataError`, whose module
    imports SQLAlchemy: this one must load without it.)
    """


class Rows(NamedTuple):
    """A question's answer."""

    #: Column names, in order.
    names: list[str]
    #: The rows, as tuples.
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.names, row, strict=True)) for row in self.rows]


def sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL (no query, not in memory), else ``None``."""
    match = re.fullmatch(r"sqlite(?:\+pysqlite)?:///([^?]+)", url)
    return Path(match.group(1)) if match and match.group(1) != ":memory:" else None


def _shown(url: str) -> str:
    from aker_core.redact import mask_dsn

    return url if sqlite_file(url) is not None else mask_dsn(url)


def _open_sqlite(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise DatabaseUnreadable(f"database {path} does not exist (nothing recorded yet, or the file was lost)")
    target = quote(str(path))
    try:
        return sqlite3.connect(f"file:{target}?mode=rw", uri=True, timeout=30)
    except sqlite3.OperationalError:
        # Not writable here (a read-only copy or mount): then nobody is writing it through this path.
        return sqlite3.connect(f"file:{target}?mode=ro&immutable=1", uri=True, timeout=30)


def _read_sqlite(path: Path, sql: str, params: Mapping[str, Any]) -> Rows:
    bound = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in params.items()}
    try:
        with closing(_open_sqlite(path)) as conn:
            cursor = conn.execute(sql, bound)
            return Rows([d[0] for d in cursor.description or ()], [tuple(r) for r in cursor.fetchall()])
    except sqlite3.Error as e:
        raise DatabaseUnreadable(f"database {path}: {e}") from e


def _one_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    lines = str(orig if orig is not None else error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _read_engine(url: str, sql: str, params: Mapping[str, Any]) -> Rows:
    from sqlalchemy import Date, bindparam, text
    from sqlalchemy.exc import SQLAlchemyError

    from aker_core.redact import redact
    from aker_data.engine import database_engine

    statement = text(sql).bindparams(
        *(
            bindparam(k, value=v, type_=Date) if isinstance(v, dt.date) else bindparam(k, value=v)
            for k, v in params.items()
        )
    )
    try:
        with database_engine(url).connect() as conn:
            result = conn.execute(statement)
            return Rows(list(result.keys()), [tuple(r) for r in result.all()])
    except ImportError as e:  # SQLAlchemy imports the driver the URL names when the engine is made
        raise DatabaseUnreadable(f"database {_shown(url)}: its driver cannot be loaded ({e})") from e
    except SQLAlchemyError as e:
        # Redact the driver's words before naming the database: a DSN without its password is
        # itself what redact() would mask, leaving "database ***".
        message = redact(_one_line(e), [url])
        if "database" not in message:  # aker's connection errors already name it (masked)
            message = f"database {_shown(url)}: {message}"
        raise DatabaseUnreadable(message) from e


def read_rows(url: str, sql: str, params: Mapping[str, Any] | None = None) -> Rows:
    """The answer to ``sql`` (named ``:parameters``) on the database at ``url``; nothing is written.

    Raises:
        DatabaseUnreadable: the database does not exist, cannot be reached or cannot answer
            ``sql`` (e.g. it has no aker tables yet), in one line without the password.
    """
    path = sqlite_file(url)
    if path is not None:
        return _read_sqlite(path, sql, dict(params or {}))
    return _read_engine(url, sql, dict(params or {}))
