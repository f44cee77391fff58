"""Prometheus collector computing aker's metrics from the run database at scrape time.

Reading the database (instead of counting in-process) keeps the numbers true whichever process,
worker or host ran the pipeline. One scrape runs a bounded number of queries, each served by an
index (see :meth:`AkerCollector._query`):

* one ``GROUP BY status, task_family`` over ``runs`` -- the only query whose cost grows with
  history (PostgreSQL can answer it from ``ix_runs_status_started_at``, but still reads every
  entry); acceptable at today's sizes, revisit with a summary table if ``runs`` gets large;
* two ``ORDER BY started_at DESC LIMIT 1`` look-ups per task family (``ix_runs_task_family_started_at``),
  for at most :data:`MAX_FAMILIES` families;
* two ``ORDER BY started_at DESC LIMIT n`` look-ups for recent durations (``ix_runs_status_started_at``);
* ``max(lineage.id)`` (primary key) and ``max/count`` on one ``score_as_of`` (its index).

If the database cannot be reached the collector still answers, with ``aker_database_up 0``,
and logs why -- with passwords masked, since driver messages may quote the DSN.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.engine import make_url

from aker_core.gitinfo import git_info
from aker_core.redact import mask_dsn, redact
from aker_data.models import Lineage, PillarScore, Run

__all__ = ["MAX_FAMILIES", "NO_FAMILY", "AkerCollector"]

log = logging.getLogger(__name__)

#: Label value for runs recorded without a Luigi task family (CLI or ad-hoc runs).
NO_FAMILY = "none"
#: At most this many task families get per-family series (keeps a scrape's query count bounded).
MAX_FAMILIES = 50
#: Quantiles of recent run durations exported (1 is the maximum).
QUANTILES: tuple[float, ...] = (0.5, 0.9, 1.0)
FINISHED_STATUSES: tuple[str, ...] = ("completed", "failed")


@dataclass
class _Snapshot:
    """Everything one scrape read from the database."""

    finished: dict[tuple[str, str], int] = field(default_factory=dict)
    running: dict[str, int] = field(default_factory=dict)
    last_start: dict[str, float] = field(default_factory=dict)
    last_success: dict[str, tuple[float, float]] = field(default_factory=dict)
    recent_durations: list[float] = field(default_factory=list)
    lineage_records: int = 0
    latest_score_as_of: float | None = None
    markets_scored: int = 0


def _epoch(value: dt.datetime | dt.date) -> float:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:  # SQLite hands back naive values; RunContext stores UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    # Nearest-rank: a value that actually occurred, no interpolation to explain.
    index = max(0, min(len(sorted_values) - 1, int(-(-q * len(sorted_values) // 1)) - 1))
    return sorted_values[index]


class AkerCollector(Collector):
    """Reads run, lineage and score statistics from the run database on every scrape.

    Example:
        >>> registry = CollectorRegistry()                       # doctest: +SKIP
        >>> registry.register(AkerCollector(get_settings().database_url))

    Args:
        database_url: SQLAlchemy URL of the run database (secret: it is only logged masked).
        recent_runs: how many of the latest finished runs the duration quantiles cover.
        timeout_seconds: connect and statement timeout on PostgreSQL, so a scrape cannot hang.
        secrets: further literal values to mask in logged error messages.
    """

    def __init__(
        self,
        database_url: str,
        *,
        recent_runs: int = 100,
        timeout_seconds: float = 5.0,
        secrets: Iterable[str] = (),
        abandoned_after: float | None = None,
    ) -> None:
        self._url = database_url
        self._abandoned_after = abandoned_after
        self._masked_url = mask_dsn(database_url)
        self._recent_runs = recent_runs
        self._timeout = timeout_seconds
        self._secrets = tuple(secrets)
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._last_error: str | None = None
        info = git_info()
        from aker_core import __version__

        self._build_labels = (__version__, info.sha)

    @property
    def masked_url(self) -> str:
        """The database URL with its password hidden (safe to log)."""
        return self._masked_url

    # --- Collector protocol ---
    def describe(self) -> Iterable[Metric]:
        """Families without samples: lets a registry check names without querying the database."""
        return list(self._families(None, 0.0, describe=True))

    def collect(self) -> Iterable[Metric]:
        """Query the database and return every family (``aker_database_up 0`` if that failed)."""
        started = time.perf_counter()
        snapshot: _Snapshot | None
        try:
            snapshot = self._query()
        except Exception as e:  # any failure (driver, schema, filesystem) means "database down"
            self._report_down(e)
            snapshot = None
        else:
            self._report_up()
        return list(self._families(snapshot, time.perf_counter() - started))

    def close(self) -> None:
        """Release the database connections (the exporter calls this when it stops)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    # --- database ---
    def _get_engine(self) -> Engine:
        from aker_data.engine import create_engine_from_url

        with self._lock:
            if self._engine is None:
                url = make_url(self._url)
                if url.get_backend_name() == "sqlite":
                    path = url.database
                    # A read-only observer must not create an empty database file (or its folder).
                    if path and path != ":memory:" and not path.startswith("file:") and not Path(path).is_file():
                        raise FileNotFoundError(f"SQLite database file {path} does not exist")
                    self._engine = create_engine_from_url(url)
                else:
                    connect_timeout = max(1, int(self._timeout))
                    self._engine = create_engine_from_url(url, connect_args={"connect_timeout": connect_timeout})
            return self._engine

    def _query(self) -> _Snapshot:
        engine = self._get_engine()
        self._reconcile(engine, self._abandoned_after)
        snap = _Snapshot()
        with engine.connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"SET LOCAL statement_timeout = {int(self._timeout * 1000)}"))
            self._query_runs(conn, snap)
            snap.lineage_records = int(conn.execute(select(func.max(Lineage.id))).scalar_one() or 0)
            latest = conn.execute(select(func.max(PillarScore.score_as_of))).scalar_one()
            if latest is not None:
                snap.latest_score_as_of = _epoch(latest)
                snap.markets_scored = int(
                    conn.execute(
                        select(func.count()).select_from(PillarScore).where(PillarScore.score_as_of == latest)
                    ).scalar_one()
                )
        return snap

    @staticmethod
    def _reconcile(engine: Engine, abandoned_after: float | None) -> None:
        """Mark runs of dead processes failed first, so ``aker_runs_running`` counts live runs only."""
        from sqlalchemy.orm import sessionmaker

        from aker_core.liveness import reconcile_abandoned

        try:
            if abandoned_after is None:
                reconcile_abandoned(sessionmaker(bind=engine))
            else:
                reconcile_abandoned(sessionmaker(bind=engine), abandoned_after=abandoned_after)
        except Exception:  # e.g. a read-only database user: the scrape still reports what it sees
            log.debug("could not reconcile abandoned runs", exc_info=True)

    def _query_runs(self, conn: Connection, snap: _Snapshot) -> None:
        counts = conn.execute(
            select(Run.status, Run.task_family, func.count()).group_by(Run.status, Run.task_family)
        ).all()
        families: list[str | None] = []
        for status, family, n in counts:
            label = family if family is not None else NO_FAMILY
            if family not in families:
                families.append(family)
            if status == "running":
                snap.running[label] = snap.running.get(label, 0) + int(n)
            else:
                snap.finished[(label, status)] = int(n)
        for family in sorted(families, key=lambda f: f or "")[:MAX_FAMILIES]:
            label = family if family is not None else NO_FAMILY
            match = Run.task_family.is_(None) if family is None else Run.task_family == family
            start = conn.execute(
                select(Run.started_at).where(match).order_by(Run.started_at.desc()).limit(1)
            ).scalar_one_or_none()
            if start is not None:
                snap.last_start[label] = _epoch(start)
            success = conn.execute(
                select(Run.started_at, Run.finished_at)
                .where(match, Run.status == "completed")
                .order_by(Run.started_at.desc())
                .limit(1)
            ).first()
            if success is not None and success.finished_at is not None:
                finished = _epoch(success.finished_at)
                snap.last_success[label] = (finished, max(0.0, finished - _epoch(success.started_at)))
        recent: list[tuple[float, float]] = []
        for status in FINISHED_STATUSES:
            # One query per status so each walks ix_runs_status_started_at backwards and stops early.
            rows = conn.execute(
                select(Run.started_at, Run.finished_at)
                .where(Run.status == status)
                .order_by(Run.started_at.desc())
                .limit(self._recent_runs)
            ).all()
            recent.extend(
                (_epoch(r.started_at), _epoch(r.finished_at) - _epoch(r.started_at))
                for r in rows
                if r.finished_at is not None
            )
        recent.sort(reverse=True)
        snap.recent_durations = sorted(max(0.0, d) for _, d in recent[: self._recent_runs])

    # --- reporting ---
    def _reason(self, error: BaseException) -> str:
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        # Driver messages may quote the DSN or a conninfo string: mask both the known URL and
        # anything that looks like inline credentials.
        secrets = [*self._secrets, self._url]
        try:
            password = make_url(self._url).password
        except Exception:  # unparseable URL: it is masked whole above
            password = None
        if password:
            secrets.append(str(password))
        return redact(f"{type(error).__name__}: {message}"[:500], sorted(secrets, key=len, reverse=True))

    def _report_down(self, error: BaseException) -> None:
        reason = self._reason(error)
        with self._lock:
            changed, self._last_error = reason != self._last_error, reason
        # Logged once per distinct failure, not on every scrape of a long outage.
        level = logging.WARNING if changed else logging.DEBUG
        log.log(level, "run database %s unavailable, reporting aker_database_up 0: %s", self._masked_url, reason)

    def _report_up(self) -> None:
        with self._lock:
            was_down, self._last_error = self._last_error is not None, None
        if was_down:
            log.info("run database %s reachable again", self._masked_url)

    def _families(self, snap: _Snapshot | None, elapsed: float, *, describe: bool = False) -> Iterator[Metric]:
        build = GaugeMetricFamily(
            "aker_build_info", "Version and git SHA of the running aker code.", labels=["version", "git_sha"]
        )
        up = GaugeMetricFamily("aker_database_up", "1 if the run database answered this scrape, else 0.")
        duration = GaugeMetricFamily(
            "aker_exporter_collect_duration_seconds", "Time this scrape spent reading the run database."
        )
        finished = CounterMetricFamily(
            "aker_runs_finished",
            "Runs recorded as finished, by task family and final status (completed or failed).",
            labels=["task_family", "status"],
        )
        running = GaugeMetricFamily(
            "aker_runs_running",
            "Runs whose status is still 'running' (includes runs of crashed processes).",
            labels=["task_family"],
        )
        last_start = GaugeMetricFamily(
            "aker_last_run_start_timestamp_seconds", "Start time of the latest run.", labels=["task_family"]
        )
        last_success = GaugeMetricFamily(
            "aker_last_success_timestamp_seconds",
            "Finish time of the latest successful run.",
            labels=["task_family"],
        )
        last_success_duration = GaugeMetricFamily(
            "aker_last_success_duration_seconds",
            "Wall-clock duration of the latest successful run.",
            labels=["task_family"],
        )
        recent = GaugeMetricFamily(
            "aker_recent_run_duration_seconds",
            f"Duration quantiles (nearest rank; 1 = max) of the latest {self._recent_runs} finished runs.",
            labels=["quantile"],
        )
        recent_n = GaugeMetricFamily(
            "aker_recent_runs_considered", "Finished runs the duration quantiles are computed over."
        )
        lineage = CounterMetricFamily(
            "aker_lineage_records", "Lineage records written (highest lineage id: an index look-up)."
        )
        markets = GaugeMetricFamily(
            "aker_markets_scored", "Markets with pillar scores for the latest score_as_of date."
        )
        latest = GaugeMetricFamily(
            "aker_latest_score_as_of_timestamp_seconds", "The latest score_as_of date (midnight UTC)."
        )
        if not describe:
            build.add_metric(list(self._build_labels), 1)
            up.add_metric([], 0 if snap is None else 1)
            duration.add_metric([], elapsed)
        if snap is not None:
            for (family, status), n in sorted(snap.finished.items()):
                finished.add_metric([family, status], n)
            for family, n in sorted(snap.running.items()):
                running.add_metric([family], n)
            for family, ts in sorted(snap.last_start.items()):
                last_start.add_metric([family], ts)
            for family, (ts, seconds) in sorted(snap.last_success.items()):
                last_success.add_metric([family], ts)
                last_success_duration.add_metric([family], seconds)
            if snap.recent_durations:
                for q in QUANTILES:
                    recent.add_metric([f"{q:g}"], _quantile(snap.recent_durations, q))
            recent_n.add_metric([], len(snap.recent_durations))
            lineage.add_metric([], snap.lineage_records)
            markets.add_metric([], snap.markets_scored)
            if snap.latest_score_as_of is not None:
                latest.add_metric([], snap.latest_score_as_of)
        # Data families are yielded even when empty: an unchanged set of HELP/TYPE lines per scrape.
        yield from (build, up, duration, finished, running, last_start, last_success, last_success_duration)
        yield from (recent, recent_n, lineage, markets, latest)
