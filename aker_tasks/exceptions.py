"""Errors raised by :mod:`aker_tasks`."""

from __future__ import annotations

from aker_core.exceptions import AkerError

__all__ = ["CacheError", "TaskGraphError"]


class TaskGraphError(AkerError):
    """Base class of errors raised by aker's Luigi tasks."""


class CacheError(TaskGraphError):
    """A cache target or its sidecar is missing, unreadable or inconsistent."""
