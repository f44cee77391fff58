"""Luigi event handlers: per-task metrics for batch runs, OpenLineage events, and aker's logging set-up.

Luigi runs tasks in short-lived (and, with ``--workers N``, forked) processes, so each process
keeps its own :class:`~aker_core.monitoring.batch.TaskMetrics` and flushes it after every
event to the Pushgateway and/or textfile the settings name. Nothing is created when neither
is configured, which keeps a cached rerun from importing prometheus_client at all.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

import luigi

from aker_core.config import get_settings
from aker_tasks import openlineage
from aker_tasks.base import AkerTask, preload_runtime
from aker_tasks.luigi_setup import retry_failed_dependency
from aker_tasks.pipeline import ScoreMarkets

if TYPE_CHECKING:
    from aker_core.monitoring.batch import TaskMetrics

__all__ = ["install_sigterm_handler", "task_metrics"]

_metrics: dict[int, TaskMetrics] = {}
_started: dict[str, float] = {}


def task_metrics() -> TaskMetrics | None:
    """This process's TaskMetrics, or ``None`` when no metrics sink is configured."""
    settings = get_settings()
    if not (settings.pushgateway_url or settings.metrics_textfile):
        return None
    pid = os.getpid()  # a forked worker must not inherit its parent's counts
    if pid not in _metrics:
        from aker_core.monitoring.batch import TaskMetrics

        _metrics.clear()
        _metrics[pid] = TaskMetrics()
    return _metrics[pid]


def _observe(task: luigi.Task, outcome: str, **amounts: Any) -> None:
    metrics = task_metrics()
    if metrics is None:
        return
    metrics.observe(task.get_task_family(), outcome=outcome, **amounts)
    metrics.flush()


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # Python's default SIGTERM ends the process without unwinding, leaving the task's run row
    # 'running' forever. Raising SystemExit unwinds through RunContext, which records 'failed'.
    raise SystemExit(128 + signum)


def install_sigterm_handler() -> None:
    """Make SIGTERM (kill, a cancelled CI job, luigi's worker_timeout) unwind the running task."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


@AkerTask.event_handler(luigi.Event.START)
def _on_start(task: AkerTask) -> None:
    from aker_core.logging import configure_logging

    configure_logging(get_settings())
    install_sigterm_handler()
    _started[task.task_id] = time.perf_counter()


@AkerTask.event_handler(luigi.Event.SUCCESS)
def _on_success(task: AkerTask) -> None:
    stats = getattr(task, "run_stats", {})
    _observe(task, "executed", **stats)
    openlineage.task_succeeded(task)


@AkerTask.event_handler(luigi.Event.FAILURE)
def _on_failure(task: AkerTask, exception: BaseException) -> None:
    started = _started.pop(task.task_id, None)
    duration = time.perf_counter() - started if started is not None else 0.0
    _observe(task, "failed", duration_seconds=duration)
    openlineage.task_failed(task, exception)


@AkerTask.event_handler(luigi.Event.DEPENDENCY_PRESENT)
def _on_cached(task: AkerTask) -> None:
    _observe(task, "cached")


def _preload(_task: luigi.Task, _dependency: luigi.Task) -> None:
    # An incomplete task was scheduled, so something will run: load what tasks execute with (and
    # the OpenLineage client, if configured) now, before Luigi forks workers -- not in complete(),
    # which stays a pure question.
    preload_runtime()
    openlineage.preload()


for _family in (AkerTask, ScoreMarkets):
    _family.event_handler(luigi.Event.DEPENDENCY_DISCOVERED)(retry_failed_dependency)
    _family.event_handler(luigi.Event.DEPENDENCY_DISCOVERED)(_preload)


@ScoreMarkets.event_handler(luigi.Event.DEPENDENCY_PRESENT)
def _on_cached_graph(task: ScoreMarkets) -> None:
    # A fully cached ScoreMarkets is found complete as a whole (Luigi asks nothing below it).
    _observe(task, "cached")
