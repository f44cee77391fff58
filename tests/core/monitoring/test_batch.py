"""TaskMetrics: recording, the node-exporter textfile sink and the Pushgateway sink."""

from __future__ import annotations

import logging
import multiprocessing
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from aker_core.config import Settings
from aker_core.monitoring.batch import TaskMetrics

from .conftest import binary_or_skip, free_port, http_get, parse_samples, sample, stop_process, wait_http


def _read(path: Path) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return parse_samples(path.read_text(encoding="utf-8"))


def test_observe_records_per_family() -> None:
    """observe() counts outcomes, rows, bytes and durations per task family."""
    registry = CollectorRegistry()
    metrics = TaskMetrics(registry)
    metrics.observe("Score", outcome="executed", duration_seconds=2.0, rows_in=10, rows_out=5, bytes_written=100)
    metrics.observe("Score", outcome="cached")
    metrics.observe("Fetch", outcome="failed", duration_seconds=0.5)
    get = registry.get_sample_value
    assert get("aker_task_runs_total", {"task_family": "Score", "outcome": "executed"}) == 1
    assert get("aker_task_runs_total", {"task_family": "Score", "outcome": "cached"}) == 1
    assert get("aker_task_runs_total", {"task_family": "Fetch", "outcome": "failed"}) == 1
    assert get("aker_task_rows_in_total", {"task_family": "Score"}) == 10
    assert get("aker_task_rows_out_total", {"task_family": "Score"}) == 5
    assert get("aker_task_written_bytes_total", {"task_family": "Score"}) == 100
    # Cache hits ran nothing, so only the executed attempt has a duration.
    assert get("aker_task_duration_seconds_count", {"task_family": "Score"}) == 1
    assert get("aker_task_duration_seconds_sum", {"task_family": "Score"}) == 2.0
    assert get("aker_task_last_timestamp_seconds", {"task_family": "Fetch", "outcome": "failed"}) is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"outcome": "skipped"},
        {"outcome": "executed", "rows_in": -1},
        {"outcome": "executed", "duration_seconds": float("nan")},
    ],
)
def test_observe_rejects_bad_values(kwargs: dict[str, object]) -> None:
    """Unknown outcomes and negative or NaN amounts raise ValueError."""
    with pytest.raises(ValueError):
        TaskMetrics().observe("Score", **kwargs)  # type: ignore[arg-type]


def test_flush_without_sinks_is_noop(tmp_path: Path) -> None:
    """With neither textfile nor Pushgateway configured, flush() writes nothing."""
    metrics = TaskMetrics()
    metrics.observe("Score", outcome="executed")
    metrics.flush(Settings())
    assert list(tmp_path.rglob("*.prom")) == []


def test_textfile_written_and_parseable(tmp_path: Path) -> None:
    """flush() writes a world-readable textfile that parses back to the observed values."""
    path = tmp_path / "textfile" / "aker.prom"
    metrics = TaskMetrics()
    metrics.observe("Score", outcome="executed", duration_seconds=1.5, rows_out=42)
    metrics.flush(Settings(metrics_textfile=path))
    samples = _read(path)
    assert sample(samples, "aker_task_runs_total", task_family="Score", outcome="executed") == 1
    assert sample(samples, "aker_task_rows_out_total", task_family="Score") == 42
    assert sample(samples, "aker_task_duration_seconds_bucket", task_family="Score", le="5.0") == 1
    assert not any(name.endswith("_created") for name, _ in samples)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == ["aker.prom", "aker.prom.lock"]


def test_textfile_repeated_flush_does_not_double_count(tmp_path: Path) -> None:
    """Flushing twice adds only what was observed in between."""
    path = tmp_path / "aker.prom"
    metrics = TaskMetrics()
    metrics.observe("Score", outcome="executed", rows_out=1)
    metrics.flush(Settings(metrics_textfile=path))
    metrics.flush(Settings(metrics_textfile=path))
    metrics.observe("Score", outcome="executed", rows_out=2)
    metrics.flush(Settings(metrics_textfile=path))
    samples = _read(path)
    assert sample(samples, "aker_task_runs_total", task_family="Score", outcome="executed") == 2
    assert sample(samples, "aker_task_rows_out_total", task_family="Score") == 3


def test_textfile_sums_processes_and_keeps_other_families(tmp_path: Path) -> None:
    """Two writers' counters add up; families only one of them saw are kept."""
    path = tmp_path / "aker.prom"
    first, second = TaskMetrics(), TaskMetrics()
    first.observe("Score", outcome="executed", rows_in=5)
    first.observe("Fetch", outcome="cached")
    second.observe("Score", outcome="executed", rows_in=7)
    first.flush(Settings(metrics_textfile=path))
    second.flush(Settings(metrics_textfile=path))
    samples = _read(path)
    assert sample(samples, "aker_task_runs_total", task_family="Score", outcome="executed") == 2
    assert sample(samples, "aker_task_rows_in_total", task_family="Score") == 12
    assert sample(samples, "aker_task_runs_total", task_family="Fetch", outcome="cached") == 1


def _worker(path: str, rounds: int) -> None:
    metrics = TaskMetrics()
    for _ in range(rounds):
        metrics.observe("Score", outcome="executed", rows_out=1)
        metrics.flush(Settings(metrics_textfile=Path(path)))


def test_textfile_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    """Four processes flushing concurrently produce exact totals (fcntl lock + atomic replace)."""
    path = tmp_path / "aker.prom"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(path), 15)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    samples = _read(path)
    assert sample(samples, "aker_task_runs_total", task_family="Score", outcome="executed") == 60
    assert sample(samples, "aker_task_rows_out_total", task_family="Score") == 60


def test_textfile_corrupt_file_is_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An unparseable existing file is rewritten from this process's values, with a warning."""
    path = tmp_path / "aker.prom"
    path.write_text("this is {not prometheus\n")
    metrics = TaskMetrics()
    metrics.observe("Score", outcome="executed")
    with caplog.at_level(logging.WARNING, logger="aker_core"):
        metrics.flush(Settings(metrics_textfile=path))
    assert sample(_read(path), "aker_task_runs_total", task_family="Score", outcome="executed") == 1
    assert "unreadable" in caplog.text


def test_textfile_failure_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A textfile that cannot be written logs an error and flush() returns normally."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    metrics = TaskMetrics()
    metrics.observe("Score", outcome="executed")
    with caplog.at_level(logging.ERROR, logger="aker_core"):
        metrics.flush(Settings(metrics_textfile=blocker / "sub" / "aker.prom"))
    assert "could not write metrics textfile" in caplog.text


def test_push_failure_is_logged_without_credentials(caplog: pytest.LogCaptureFixture) -> None:
    """An unreachable Pushgateway is logged (credentials masked) and does not raise."""
    url = f"http://bob:Pu5hSecret@127.0.0.1:{free_port()}"
    metrics = TaskMetrics()
    metrics.observe("Score", outcome="executed")
    with caplog.at_level(logging.WARNING, logger="aker_core"):
        metrics.flush(Settings(pushgateway_url=url))
    assert "could not push metrics of Score" in caplog.text
    assert "Pu5hSecret" not in caplog.text


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """URL of a real prometheus-pushgateway on a free loopback port (skips if not installed)."""
    binary = binary_or_skip("prometheus-pushgateway")
    port = free_port()
    log = open(tmp_path / "pushgateway.log", "wb")  # noqa: SIM115 -- closed after the process stops
    proc = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/-/ready", proc=proc)
        yield url
    finally:
        stop_process(proc)
        log.close()


def test_push_to_real_pushgateway(pushgateway: str) -> None:
    """Pushed series appear in the Pushgateway under job=aker, instance and task_family."""
    metrics = TaskMetrics(instance="worker-host")
    metrics.observe("Score", outcome="executed", duration_seconds=3.0, rows_out=9)
    metrics.observe("Fetch", outcome="cached")
    metrics.flush(Settings(pushgateway_url=pushgateway))
    samples = parse_samples(http_get(f"{pushgateway}/metrics"))
    group = {"job": "aker", "instance": "worker-host"}
    assert sample(samples, "aker_task_runs_total", **group, task_family="Score", outcome="executed") == 1
    assert sample(samples, "aker_task_rows_out_total", **group, task_family="Score") == 9
    assert sample(samples, "aker_task_runs_total", **group, task_family="Fetch", outcome="cached") == 1


def test_pushadd_keeps_series_a_later_push_lacks(pushgateway: str) -> None:
    """A later process with only cache hits keeps the family's duration histogram (POST, not PUT)."""
    first = TaskMetrics(instance="h")
    first.observe("Score", outcome="executed", duration_seconds=3.0)
    first.flush(Settings(pushgateway_url=pushgateway))
    second = TaskMetrics(instance="h")
    second.observe("Score", outcome="cached")
    second.flush(Settings(pushgateway_url=pushgateway))
    samples = parse_samples(http_get(f"{pushgateway}/metrics"))
    labels = {"job": "aker", "instance": "h", "task_family": "Score"}
    assert sample(samples, "aker_task_duration_seconds_count", **labels) == 1
    assert sample(samples, "aker_task_runs_total", **labels, outcome="cached") == 1
