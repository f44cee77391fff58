"""Read-only questions to the run database, without writing a byte or creating a file.

The embedded SQLite default is opened through the standard library's driver in read-only mode
(a lost file stays lost, it is not created empty), as :mod:`aker_tasks.publication` does; other
databases through this process's SQLAlchemy engine (aker's timeouts, errors naming the database
without its password). Every failure is one :class:`AuditError` line.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from aker_core.exceptions import AkerError

__all__ = ["EXIT_DATABASE", "EXIT_USAGE", "AuditError", "as_json", "as_text_time", "masked", "query"]

#: Exit code of a command given a value it cannot use (an unknown run id, bad weights).
EXIT_USAGE = 2
#: Exit code of a command whose database cannot be read (as ``aker db``).
EXIT_DATABASE = 3


class AuditError(AkerError):
    """An audit command cannot answer: one line for the user, with the exit code it maps to."""

    def __init__(self, message: str, code: int = EXIT_DATABASE) -> None:
        super().__init__(message)
        self.code = code


def masked(url: str) -> str:
    """``url`` without its password (nor secret query parameters).

    Without SQLAlchemy's URL parser: importing it would cost more than the rest of a status of
    the embedded SQLite default (~0.5 s).
    """
    from aker_tasks.identity import database_identity

    if url.startswith("sqlite"):
        return url  # a file path: no credentials (and urlunsplit would drop a slash of sqlite:///)
    return database_identity(url)


def sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL (no query), else ``None``."""
    match = re.fullmatch(r"sqlite(?:\+pysqlite)?:///([^?]+)", url)
    return Path(match.group(1)) if match and match.group(1) != ":memory:" else None


def _one_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    lines = str(orig if orig is not None else error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def query(url: str, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rows of ``sql`` (named ``:parameters``) as dicts; nothing is written, no file is created.

    Raises:
        AuditError: the database does not exist, cannot be reached, or cannot answer ``sql``
            (e.g. it has no aker tables), naming the database without its password.
    """
    from aker_core.redact import redact

    shown = masked(url)
    params = dict(params or {})
    path = sqlite_file(url)
    if path is not None:
        if not path.is_file():
            raise AuditError(f"database {shown} does not exist (nothing recorded yet, or the file was lost)")
        bound = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in params.items()}
        # Without a -wal file every committed transaction is in the database file itself: read it
        # as immutable, so SQLite does not create the -wal and -shm files a WAL reader needs (and a
        # read-only connection cannot remove). With one, another process has it open: read through it.
        mode = "ro" if Path(f"{path}-wal").exists() else "ro&immutable=1"
        try:
            with closing(sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True, timeout=30)) as conn:
                cursor = conn.execute(sql, bound)
                names = [d[0] for d in cursor.description or ()]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.Error as e:
            raise AuditError(f"database {shown}: {e}") from None
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from aker_data.engine import database_engine

    try:
        with database_engine(url).connect() as conn:
            result = conn.execute(text(sql), params)
            return [dict(row._mapping) for row in result]
    except SQLAlchemyError as e:
        message = _one_line(e)
        if "database" not in message:  # aker's connection errors already name it (masked)
            message = f"database {shown}: {message}"
        raise AuditError(redact(message, [url])) from None


def as_json(value: Any) -> Any:
    """A JSON column's value (SQLite returns the text, PostgreSQL the parsed value)."""
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def as_text_time(value: Any) -> str | None:
    """A timestamp column as ISO text (SQLite stores text, PostgreSQL returns a datetime)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value).replace(" ", "T", 1)
