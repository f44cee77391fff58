"""Read-only questions to the run database, without writing a byte or creating a file.

Questions go through :func:`aker_data.readonly.read_rows`, the one way aker reads the run
database (the embedded SQLite default without SQLAlchemy, nothing created or written); the ORM
views of ``aker trace`` and ``aker gc`` use :func:`engine_for`. Every failure is one
:class:`AuditError` line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from aker_core.exceptions import AkerError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = [
    "EXIT_DATABASE",
    "EXIT_USAGE",
    "AuditError",
    "as_json",
    "as_text_time",
    "masked",
    "query",
    "require_database",
]

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


def require_database(url: str) -> None:
    """Refuse a SQLite ``url`` whose file does not exist: opening it would create it empty.

    Raises:
        AuditError: the file does not exist (exit code 3).
    """
    from aker_data.readonly import sqlite_file

    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise AuditError(f"database {masked(url)} does not exist (nothing recorded yet, or the file was lost)")


def engine_for(url: str) -> Engine:
    """This process's engine on ``url`` (:func:`aker_data.engine.database_engine`).

    Raises:
        AuditError: the driver the URL names is not installed (SQLAlchemy imports it here).
    """
    from aker_data.engine import database_engine

    try:
        return database_engine(url)
    except ImportError as e:
        raise AuditError(f"database {masked(url)}: its driver cannot be loaded ({e})") from None


def query(url: str, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rows of ``sql`` (named ``:parameters``) as dicts (:func:`aker_data.readonly.read_rows`:
    nothing is written, no file is created).

    Raises:
        AuditError: the database does not exist, cannot be reached, or cannot answer ``sql``
            (e.g. it has no aker tables), naming the database without its password.
    """
    from aker_data.readonly import DatabaseUnreadable, read_rows

    require_database(url)
    try:
        return read_rows(url, sql, params).dicts()
    except DatabaseUnreadable as e:
        raise AuditError(str(e)) from None


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
