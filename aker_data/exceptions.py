"""Errors raised by :mod:`aker_data`."""

from __future__ import annotations

__all__ = ["DataError", "DatabaseConnectionError", "SchemaOutOfDateError"]


class DataError(Exception):
    """Base class of every error the persistence layer raises on purpose."""


class DatabaseConnectionError(DataError):
    """The database could not be reached; the message never contains the password."""


class SchemaOutOfDateError(DataError):
    """The database schema is not at the Alembic head this code expects."""
