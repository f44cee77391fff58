"""Observability: the scrape-time metrics collector and batch metrics of pipeline tasks.

The exporter itself is ``python -m aker_core.monitoring.metrics`` (not imported here, so that
running it as ``__main__`` does not import it twice).
"""

from __future__ import annotations

from aker_core.monitoring.batch import TaskMetrics
from aker_core.monitoring.collector import AkerCollector

__all__ = ["AkerCollector", "TaskMetrics"]
