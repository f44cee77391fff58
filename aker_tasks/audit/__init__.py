"""Auditing: answers about recorded runs -- where a score came from (``aker trace``) and what the
cache may drop (``aker gc``). Modules load lazily; importing this package costs nothing."""

from __future__ import annotations

__all__ = ["gc", "lineage", "trace"]
