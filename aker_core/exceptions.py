"""Errors raised by :mod:`aker_core`.

Every error derives from :class:`AkerError` so callers can catch the whole family; low-level
errors are re-raised with ``raise ... from e`` so the original cause stays in the traceback.
"""

from __future__ import annotations

__all__ = [
    "AkerError",
    "ConfigError",
    "DataValidationError",
    "RunContextError",
    "ScoringError",
]


class AkerError(Exception):
    """Base class of every error aker raises on purpose."""


class ConfigError(AkerError):
    """The configuration (environment, ``.env`` or arguments) is invalid."""


class RunContextError(AkerError):
    """A :class:`~aker_core.run.RunContext` was used outside its lifecycle."""


class ScoringError(AkerError):
    """Scoring inputs or parameters (weights, dates, percentiles) are invalid."""


class DataValidationError(AkerError):
    """A source dataset failed validation; the message names dataset, column and rows."""
