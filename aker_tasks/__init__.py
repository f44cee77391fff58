"""aker's Luigi task graph (``luigi --module aker_tasks ScoreMarkets --as-of 2024-06-01``)."""

from __future__ import annotations

__all__: list[str] = []
