"""Errors raised by :mod:`aker_data`.

Every one is an :class:`~aker_core.exceptions.AkerError` (aker has one exception root): a
task that fails with one reports it in one line, without a traceback.

:class:`DatabaseConnectionError` and :class:`DatabaseTimeoutError` replace SQLAlchemy's
``OperationalError`` for a database that cannot be reached, goes away or does not answer in time
(see :func:`aker_data.engine.create_engine_from_url`). They are SQLAlchemy errors as well, so code
that treats any ``SQLAlchemyError`` as "the database cannot answer" keeps doing so.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from aker_core.exceptions import AkerError

__all__ = ["DataError", "DatabaseConnectionError", "DatabaseTimeoutError", "SchemaOutOfDateError", "UnknownRunError"]


class DataError(AkerError):
    """Base class of every error the persistence layer raises on purpose."""


class DatabaseConnectionError(DataError, SQLAlchemyError):
    """The database could not be reached or the connection was lost.

    The message names the database URL without its password, and the cause.
    """


class DatabaseTimeoutError(DatabaseConnectionError):
    """The database did not answer within a bound: a statement or lock timeout, or SQLite's busy timeout."""


class SchemaOutOfDateError(DataError):
    """The database schema is not at the Alembic head this code expects."""


class UnknownRunError(DataError):
    """A write names a run that ``runs`` does not hold: what a foreign key to ``runs`` would refuse.

    aker checks ``pillar_scores.run_id`` once per write instead of by a per-row foreign key
    (migration 0006); the message names the table and the run id, and nothing was written.
    """
