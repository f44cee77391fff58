"""The exporter process: ``python -m aker_core.monitoring.metrics`` scraped over HTTP."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, func, select

from aker_data.models import Lineage, Run

from .conftest import ExporterProcess, free_port, http_get, parse_samples, sample, wait_http


def test_scrape_matches_database(
    populated: str, engine: Engine, start_exporter: Callable[..., ExporterProcess]
) -> None:
    """A scrape of the subprocess reports the database's run, lineage and score counts."""
    exporter = start_exporter(populated)
    samples = parse_samples(http_get(exporter.url))
    with engine.connect() as conn:
        completed_a = conn.execute(
            select(func.count()).where(Run.task_family == "A", Run.status == "completed")
        ).scalar_one()
        lineage = conn.execute(select(func.count()).select_from(Lineage)).scalar_one()
    assert sample(samples, "aker_database_up") == 1
    assert sample(samples, "aker_runs_finished_total", task_family="A", status="completed") == completed_a
    assert sample(samples, "aker_runs_finished_total", task_family="B", status="failed") == 1
    assert sample(samples, "aker_runs_running", task_family="A") == 1
    assert sample(samples, "aker_lineage_records_total") == lineage
    assert sample(samples, "aker_markets_scored") == 3
    assert sample(samples, "process_start_time_seconds") is not None


def test_database_down_still_serves(start_exporter: Callable[..., ExporterProcess]) -> None:
    """With no PostgreSQL listening the exporter answers with aker_database_up 0 and hides the password."""
    url = f"postgresql+psycopg://aker:Sup3rSecretPw@127.0.0.1:{free_port()}/aker"
    exporter = start_exporter(url, AKER_LOG_FORMAT="json")
    for _ in range(2):
        samples = parse_samples(http_get(exporter.url, timeout=15))
        assert sample(samples, "aker_database_up") == 0
    log = exporter.stderr()
    assert "Sup3rSecretPw" not in log
    lines = [orjson.loads(line) for line in log.splitlines() if line.strip()]
    assert any("unavailable" in line["message"] for line in lines)
    assert any("aker:***@127.0.0.1" in line["message"] for line in lines)


def test_sigterm_stops_with_status_zero(tmp_path: Path, start_exporter: Callable[..., ExporterProcess]) -> None:
    """SIGTERM stops the exporter cleanly (exit 0) and frees its port."""
    exporter = start_exporter(f"sqlite:///{tmp_path / 'none.db'}")
    exporter.proc.send_signal(signal.SIGTERM)
    assert exporter.proc.wait(timeout=15) == 0
    assert "stopped" in exporter.stderr()


def test_sigint_stops_with_status_zero(tmp_path: Path, start_exporter: Callable[..., ExporterProcess]) -> None:
    """SIGINT (Ctrl-C) stops the exporter with exit status 0."""
    exporter = start_exporter(f"sqlite:///{tmp_path / 'none.db'}")
    exporter.proc.send_signal(signal.SIGINT)
    assert exporter.proc.wait(timeout=15) == 0


def test_logs_where_it_listens(tmp_path: Path, start_exporter: Callable[..., ExporterProcess]) -> None:
    """The exporter logs the URL it serves on."""
    exporter = start_exporter(f"sqlite:///{tmp_path / 'none.db'}")
    wait_http(exporter.url)
    assert f"serving metrics on http://127.0.0.1:{exporter.port}/metrics" in exporter.stderr()


def test_runbook_curl_localhost_works(tmp_path: Path, start_exporter: Callable[..., ExporterProcess]) -> None:
    """``curl http://localhost:PORT/metrics`` reaches the 127.0.0.1-bound exporter (IPv6 fallback)."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl not installed")
    exporter = start_exporter(f"sqlite:///{tmp_path / 'none.db'}")
    out = subprocess.run(
        [curl, "-sf", "--max-time", "10", f"http://localhost:{exporter.port}/metrics"],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    assert "# TYPE aker_database_up gauge" in out


def test_port_in_use_exits_one(tmp_path: Path, start_exporter: Callable[..., ExporterProcess]) -> None:
    """A second exporter on a taken port exits with status 1 and says why."""
    first = start_exporter(f"sqlite:///{tmp_path / 'none.db'}")
    second = subprocess.run(
        [__import__("sys").executable, "-m", "aker_core.monitoring.metrics", "--port", str(first.port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode == 1
    assert "cannot listen" in second.stderr
