"""A real Prometheus server scrapes the exporter and its query API returns the aker series."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import WAIT_SECONDS, ExporterProcess, binary_or_skip, free_port, http_get, stop_process, wait_http

pytestmark = pytest.mark.slow


def _query(base: str, expr: str) -> list[dict[str, object]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    body = json.loads(http_get(url))
    assert body["status"] == "success"
    return list(body["data"]["result"])


def test_prometheus_scrapes_exporter(
    populated_sqlite: str, tmp_path: Path, start_exporter: Callable[..., ExporterProcess]
) -> None:
    """Prometheus (1 s scrape interval) stores aker_database_up=1, the run counters and duration quantiles."""
    binary = binary_or_skip("prometheus")
    exporter = start_exporter(populated_sqlite)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: aker\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{exporter.port}']\n"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 -- closed after the process stops
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"{base}/-/ready", proc=proc)
        deadline = time.monotonic() + WAIT_SECONDS
        up: list[dict[str, object]] = []
        while time.monotonic() < deadline and not up:
            up = _query(base, 'aker_database_up{job="aker"}')
            if not up:
                time.sleep(0.5)
        assert up, (
            f"no aker_database_up within {WAIT_SECONDS}s; log: {(tmp_path / 'prometheus.log').read_text()[-2000:]}"
        )
        assert up[0]["value"][1] == "1"  # type: ignore[index]
        finished = _query(base, 'aker_runs_finished_total{task_family="A",status="completed"}')
        assert finished and finished[0]["value"][1] == "2"  # type: ignore[index]
        # The summary-typed quantiles (no _count/_sum) are stored like any other series.
        slowest = _query(base, 'aker_recent_run_duration_seconds{quantile="1"}')
        assert slowest and float(slowest[0]["value"][1]) >= 0  # type: ignore[index]
        assert _query(base, 'aker_runs_running{task_family="B"}')[0]["value"][1] == "0"  # type: ignore[index]
    finally:
        stop_process(proc)
        log.close()
