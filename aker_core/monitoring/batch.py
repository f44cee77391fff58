"""Metrics of pipeline tasks, which run as short-lived (possibly several) batch processes.

A process cannot be scraped after it exits, so :class:`TaskMetrics` hands its numbers on when
:meth:`TaskMetrics.flush` is called, to whichever sink the settings name:

* ``AKER_METRICS_TEXTFILE`` -- a file for node-exporter's textfile collector, holding the host's
  totals. Several processes share it: under an ``fcntl`` lock on ``<file>.lock`` a flush reads
  the file (prometheus_client's parser), *adds* what this process counted since its previous
  flush (counters, histogram buckets), keeps the newest of each timestamp gauge, and replaces
  the file atomically with prometheus_client's ``write_to_textfile``. Totals are therefore exact
  across processes and runs on one host. That addition is the one hand-written step, and the
  client has no tool for it: node-exporter does not add samples of several files (a series in
  two files is an error), and multiprocess mode is switched on process-wide by an environment
  variable read when prometheus_client is imported and keeps one memory-mapped file per process
  for good -- with Luigi forking a process per task, a directory that grows with every run and
  is read whole on every flush.
* ``AKER_PUSHGATEWAY_URL`` -- a Prometheus Pushgateway, job ``aker``, one group per
  ``{instance=<hostname>, task_family=<family>}``, sent with ``pushadd`` (HTTP POST). The
  Pushgateway cannot add: a push *replaces* same-named metrics of its group. Grouping by host
  and family keeps the group count bounded (no per-process or per-run groups piling up), and
  POST rather than PUT keeps, e.g., the duration histogram of a family when a later process
  only saw cache hits for it. The price: when two processes on one host run the same family,
  the group shows the cumulative numbers of whichever flushed last (Prometheus reads the drop
  as a counter reset). Exact cross-process totals come from the textfile sink or from the
  exporter's ``aker_runs_finished_total``, which is read from the database.

Failures of either sink are logged (URLs without credentials) and never raised: metrics must
not fail the pipeline.

Example:
    >>> metrics = TaskMetrics()                                   # doctest: +SKIP
    >>> metrics.observe("ScoreMarkets", outcome="executed", duration_seconds=2.5, rows_out=120)
    >>> metrics.flush()
"""

from __future__ import annotations

import fcntl
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    pushadd_to_gateway,
    write_to_textfile,
)
from prometheus_client.exposition import basic_auth_handler, default_handler
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from aker_core.config import Settings, get_settings
from aker_core.redact import redact, strip_url_credentials

__all__ = ["DURATION_BUCKETS", "OUTCOMES", "PUSH_JOB", "TaskMetrics"]

log = logging.getLogger(__name__)

#: What happened to a task: it ran, it was already complete (a cache hit), or it raised.
OUTCOMES: tuple[str, ...] = ("executed", "cached", "failed")
#: Job label of every push to the Pushgateway.
PUSH_JOB = "aker"
#: Histogram buckets of task durations, seconds: sub-second cache checks up to hour-long loads.
DURATION_BUCKETS: tuple[float, ...] = (0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, math.inf)
#: Seconds a push may take before it is abandoned (the pipeline is waiting).
PUSH_TIMEOUT_SECONDS = 5.0
#: Metric types whose samples are summed across processes in the textfile.
_ADDITIVE = frozenset({"counter", "histogram"})

_SampleKey = tuple[str, tuple[tuple[str, str], ...]]


def _key(sample: Sample) -> _SampleKey:
    return sample.name, tuple(sorted(sample.labels.items()))


class _Families(Collector):
    """Families ``source()`` returns, without ``_created`` samples, optionally only one task family's."""

    def __init__(self, source: Callable[[], Iterable[Metric]], task_family: str | None = None) -> None:
        self._source = source
        self._family = task_family

    def collect(self) -> Iterator[Metric]:
        for metric in self._source():
            copy = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            # _created is the process start of each series: meaningless once merged or pushed.
            copy.samples = [
                s
                for s in metric.samples
                if not s.name.endswith("_created")
                and (self._family is None or s.labels.get("task_family") == self._family)
            ]
            if copy.samples:
                yield copy


class TaskMetrics:
    """Per-task-family counters of one process, flushed to a textfile and/or a Pushgateway.

    Series (all labelled ``task_family``): ``aker_task_runs_total{outcome}``,
    ``aker_task_duration_seconds`` (histogram of executed and failed attempts),
    ``aker_task_rows_in_total``, ``aker_task_rows_out_total``, ``aker_task_written_bytes_total``
    and ``aker_task_last_timestamp_seconds{outcome}``.

    Args:
        registry: where the series live; a private one by default. Two ``TaskMetrics`` cannot
            share a registry (the names would clash).
        instance: ``instance`` of the Pushgateway grouping key; defaults to the host name.
    """

    def __init__(self, registry: CollectorRegistry | None = None, *, instance: str | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.instance = instance or socket.gethostname()
        reg = self.registry
        self._runs = Counter(
            "aker_task_runs",
            "Task attempts by outcome (executed, cached, failed).",
            ["task_family", "outcome"],
            registry=reg,
        )
        self._duration = Histogram(
            "aker_task_duration_seconds",
            "Duration of executed or failed task attempts.",
            ["task_family"],
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self._rows_in = Counter("aker_task_rows_in", "Rows tasks read.", ["task_family"], registry=reg)
        self._rows_out = Counter("aker_task_rows_out", "Rows tasks wrote.", ["task_family"], registry=reg)
        self._bytes = Counter("aker_task_written_bytes", "Bytes tasks wrote.", ["task_family"], registry=reg)
        self._last = Gauge(
            "aker_task_last_timestamp_seconds",
            "When a task last ended with each outcome.",
            ["task_family", "outcome"],
            registry=reg,
        )
        self._families: set[str] = set()
        # Cumulative values already added to the textfile; the next flush adds only the rest.
        self._flushed: dict[_SampleKey, float] = {}
        self._lock = threading.Lock()

    def observe(
        self,
        family: str,
        *,
        outcome: str,
        duration_seconds: float = 0.0,
        rows_in: int = 0,
        rows_out: int = 0,
        bytes_written: int = 0,
    ) -> None:
        """Record one task attempt.

        Args:
            family: the Luigi task family (a class name: low cardinality, unlike task ids).
            outcome: ``executed``, ``cached`` (already complete, nothing ran) or ``failed``.
            duration_seconds: wall-clock time of the attempt; not recorded for ``cached``.
            rows_in: rows read.
            rows_out: rows written.
            bytes_written: bytes written to targets.

        Raises:
            ValueError: unknown outcome, empty family, or a negative or non-finite amount.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        if not family:
            raise ValueError("family must be a non-empty task family name")
        for name, value in (
            ("duration_seconds", duration_seconds),
            ("rows_in", rows_in),
            ("rows_out", rows_out),
            ("bytes_written", bytes_written),
        ):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")
        with self._lock:
            self._families.add(family)
            self._runs.labels(family, outcome).inc()
            if outcome != "cached":
                self._duration.labels(family).observe(duration_seconds)
            self._rows_in.labels(family).inc(rows_in)
            self._rows_out.labels(family).inc(rows_out)
            self._bytes.labels(family).inc(bytes_written)
            self._last.labels(family, outcome).set(time.time())

    def flush(self, settings: Settings | None = None) -> None:
        """Hand the metrics to the textfile and/or Pushgateway the settings name; no-op if neither.

        Never raises for a sink failure (it is logged): the pipeline must not fail over metrics.

        Args:
            settings: where ``metrics_textfile`` and ``pushgateway_url`` come from; defaults to
                :func:`~aker_core.config.get_settings`.
        """
        settings = settings or get_settings()
        if settings.metrics_textfile is not None:
            try:
                self.write_textfile(settings.metrics_textfile)
            except Exception as e:  # disk full, permissions ...: report, do not fail the task
                log.error(
                    "could not write metrics textfile %s: %s: %s",
                    settings.metrics_textfile,
                    type(e).__name__,
                    redact(str(e)),
                )
        pushgateway = settings.pushgateway
        if pushgateway:
            self.push(pushgateway)

    # --- Pushgateway ---
    def push(self, url: str, *, timeout: float = PUSH_TIMEOUT_SECONDS) -> bool:
        """``pushadd`` each observed family's series to the Pushgateway at ``url``.

        Args:
            url: ``http(s)://[user:password@]host:port``; credentials become basic auth.
            timeout: seconds per request.

        Returns:
            Whether every push succeeded (failures are logged, not raised).
        """
        bare, user, password = strip_url_credentials(url)
        handler: Callable[..., Callable[[], None]] = default_handler
        if user is not None:

            def handler(
                url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
            ) -> Callable[[], None]:
                return basic_auth_handler(url, method, timeout, headers, data, user, password or "")

        with self._lock:
            families = sorted(self._families)
        ok = True
        for family in families:
            view = CollectorRegistry()
            view.register(_Families(self.registry.collect, family))
            try:
                pushadd_to_gateway(
                    bare,
                    job=PUSH_JOB,
                    registry=view,
                    timeout=timeout,
                    handler=handler,
                    grouping_key={"instance": self.instance, "task_family": family},
                )
            except Exception as e:  # network, HTTP 4xx/5xx: the pipeline goes on
                ok = False
                # The bare URL has no credentials; the message is masked in case it quotes one.
                log.warning(
                    "could not push metrics of %s to %s: %s: %s",
                    family,
                    bare,
                    type(e).__name__,
                    redact(str(e), [password] if password else []),
                )
        return ok

    # --- textfile ---
    def write_textfile(self, path: Path) -> None:
        """Merge this process's metrics into the node-exporter textfile ``path`` (see module doc).

        Raises:
            OSError: the file or its lock cannot be read or written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            ours = list(_Families(self.registry.collect).collect())
            current = {_key(s): s.value for m in ours if m.type in _ADDITIVE for s in m.samples}
            with open(f"{path}.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
                merged = _merge(_read(path), ours, self._flushed)
                write_to_textfile(str(path), _Families(lambda: merged))
                # node-exporter usually runs as another user and must read it, whatever the umask.
                path.chmod(0o644)
            self._flushed = current


def _read(path: Path) -> list[Metric]:
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        return list(text_string_to_metric_families(content))
    except Exception as e:  # a corrupt file would otherwise block every later flush
        log.warning("metrics textfile %s unreadable (%s), rewriting it from this process's values", path, e)
        return []


def _merge(existing: list[Metric], ours: list[Metric], flushed: dict[_SampleKey, float]) -> list[Metric]:
    by_name: dict[str, Metric] = {m.name: m for m in existing}
    for metric in ours:
        old = by_name.get(metric.name)
        values: dict[_SampleKey, Sample] = {}
        if old is not None and old.type == metric.type:
            values = {_key(s): s for s in old.samples}
        for sample in metric.samples:
            key = _key(sample)
            prior = values[key].value if key in values else None
            if metric.type in _ADDITIVE:
                value = (prior or 0.0) + sample.value - flushed.get(key, 0.0)
            else:  # gauges here are timestamps: the newest wins
                value = sample.value if prior is None else max(prior, sample.value)
            values[key] = sample._replace(value=value)
        merged = Metric(metric.name, metric.documentation, metric.type, metric.unit)
        merged.samples = sorted(values.values(), key=_sort_key)
        by_name[metric.name] = merged
    return [by_name[name] for name in sorted(by_name)]


def _sort_key(sample: Sample) -> tuple[Any, ...]:
    le = sample.labels.get("le")
    bound = float(le) if le is not None else 0.0
    rest = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
    return (rest, sample.name, bound)
