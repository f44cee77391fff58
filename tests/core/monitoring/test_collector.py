"""AkerCollector read in-process through a caller-passed CollectorRegistry."""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select

from aker_core.monitoring.collector import NO_FAMILY, AkerCollector, _quantile
from aker_data.models import Lineage, Run

from .conftest import free_port


def _registry(url: str) -> tuple[CollectorRegistry, AkerCollector]:
    registry = CollectorRegistry()
    collector = AkerCollector(url)
    registry.register(collector)
    return registry, collector


def test_run_counts_match_database(populated: str, engine: Engine) -> None:
    """aker_runs_finished_total and aker_runs_running equal a GROUP BY over runs."""
    registry, collector = _registry(populated)
    with engine.connect() as conn:
        rows = conn.execute(select(Run.status, Run.task_family, func.count()).group_by(Run.status, Run.task_family))
        expected = {(s, f or NO_FAMILY): n for s, f, n in rows}
    try:
        assert registry.get_sample_value("aker_database_up") == 1
        for (status, family), n in expected.items():
            if status == "running":
                assert registry.get_sample_value("aker_runs_running", {"task_family": family}) == n
            else:
                labels = {"task_family": family, "status": status}
                assert registry.get_sample_value("aker_runs_finished_total", labels) == n
        assert registry.get_sample_value("aker_runs_finished_total", {"task_family": "B", "status": "failed"}) == 1
    finally:
        collector.close()


def test_last_success_is_latest_completed_run(populated: str, engine: Engine) -> None:
    """aker_last_success_timestamp_seconds is the finish time of family A's latest completed run."""
    registry, collector = _registry(populated)
    with engine.connect() as conn:
        finished = conn.execute(
            select(Run.finished_at)
            .where(Run.task_family == "A", Run.status == "completed")
            .order_by(Run.started_at.desc())
            .limit(1)
        ).scalar_one()
    assert finished is not None
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=dt.UTC)
    try:
        value = registry.get_sample_value("aker_last_success_timestamp_seconds", {"task_family": "A"})
        assert value is not None
        assert value == pytest.approx(finished.timestamp(), abs=1e-3)
        # The running row of A started after every completed one.
        start = registry.get_sample_value("aker_last_run_start_timestamp_seconds", {"task_family": "A"})
        assert start is not None and start >= value - 1
    finally:
        collector.close()


def test_lineage_and_markets_match_database(populated: str, engine: Engine) -> None:
    """Lineage records and markets scored on the latest date match the tables."""
    registry, collector = _registry(populated)
    with engine.connect() as conn:
        lineage = conn.execute(select(func.count()).select_from(Lineage)).scalar_one()
    try:
        assert registry.get_sample_value("aker_lineage_records_total") == lineage == 4
        assert registry.get_sample_value("aker_markets_scored") == 3
        expected = dt.datetime(2024, 6, 2, tzinfo=dt.UTC).timestamp()
        assert registry.get_sample_value("aker_latest_score_as_of_timestamp_seconds") == expected
        assert registry.get_sample_value("aker_recent_runs_considered") == 5
    finally:
        collector.close()


def test_build_info_has_version_and_sha(populated: str) -> None:
    """aker_build_info carries the package version and the git SHA (GIT_SHA override)."""
    from aker_core import __version__

    registry, collector = _registry(populated)
    try:
        labels = {"version": __version__, "git_sha": "0123456789abcdef0123456789abcdef01234567"}
        assert registry.get_sample_value("aker_build_info", labels) == 1
    finally:
        collector.close()


def test_register_does_not_query_database(tmp_path: Path) -> None:
    """Registering on a registry uses describe(), which needs no database."""
    registry = CollectorRegistry(auto_describe=True)
    collector = AkerCollector(f"sqlite:///{tmp_path / 'missing.db'}")
    registry.register(collector)
    assert not (tmp_path / "missing.db").exists()


def test_missing_sqlite_file_reports_down_without_creating_it(tmp_path: Path) -> None:
    """A missing SQLite file gives aker_database_up 0 and is not created."""
    path = tmp_path / "nowhere" / "aker.db"
    registry, collector = _registry(f"sqlite:///{path}")
    assert registry.get_sample_value("aker_database_up") == 0
    assert registry.get_sample_value("aker_runs_running", {"task_family": "A"}) is None
    assert not path.parent.exists()
    collector.close()


def test_unreachable_postgres_logs_reason_without_password(caplog: pytest.LogCaptureFixture) -> None:
    """A PostgreSQL port with no server gives up 0 and a warning that hides the password."""
    url = f"postgresql+psycopg://aker:Sup3rSecretPw@127.0.0.1:{free_port()}/aker"
    registry, collector = _registry(url)
    with caplog.at_level(logging.DEBUG, logger="aker_core"):
        started = time.monotonic()
        assert registry.get_sample_value("aker_database_up") == 0
        assert time.monotonic() - started < 10
    assert "unavailable" in caplog.text
    assert "Sup3rSecretPw" not in caplog.text
    collector.close()


def test_nearest_rank_quantiles() -> None:
    """Quantiles are nearest-rank values that occurred; 1 is the maximum."""
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert _quantile(values, 0.5) == 3.0
    assert _quantile(values, 0.9) == 10.0
    assert _quantile(values, 1.0) == 10.0
    assert _quantile([7.0], 0.5) == 7.0


def test_recent_durations_are_a_summary(populated: str) -> None:
    """aker_recent_run_duration_seconds is summary-typed (quantile is a summary's label) with 3 quantiles."""
    registry, collector = _registry(populated)
    try:
        (family,) = [m for m in registry.collect() if m.name == "aker_recent_run_duration_seconds"]
        assert family.type == "summary"
        quantiles = {s.labels["quantile"]: s.value for s in family.samples}
        assert sorted(quantiles) == ["0.5", "0.9", "1"]
        assert quantiles["0.5"] <= quantiles["0.9"] <= quantiles["1"]
        from prometheus_client import generate_latest

        assert "# TYPE aker_recent_run_duration_seconds summary" in generate_latest(registry).decode()
    finally:
        collector.close()


def test_running_is_zero_for_known_families_without_running_runs(populated: str) -> None:
    """aker_runs_running is 0 (not absent) for each family in runs with nothing running."""
    registry, collector = _registry(populated)
    try:
        assert registry.get_sample_value("aker_runs_running", {"task_family": "A"}) == 1
        assert registry.get_sample_value("aker_runs_running", {"task_family": "B"}) == 0
        assert registry.get_sample_value("aker_runs_running", {"task_family": NO_FAMILY}) == 0
    finally:
        collector.close()


def test_scrape_query_count_is_bounded(populated: str) -> None:
    """A scrape issues 7 statements (one finds running runs to reconcile) plus 2 per task family (plus SET on
    PostgreSQL), whatever the history."""
    from sqlalchemy import event

    registry, collector = _registry(populated)
    statements: list[str] = []
    event.listen(collector._get_engine(), "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        registry.get_sample_value("aker_database_up")
        families = 3  # A, B and runs without a family
        setup = 1 if populated.startswith("postgresql") else 0
        assert len(statements) == setup + 7 + 2 * families
    finally:
        collector.close()
