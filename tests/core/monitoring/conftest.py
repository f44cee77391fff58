"""Helpers of the monitoring tests: free ports, HTTP polling, a populated run database, exporters."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session, sessionmaker

from aker_core.config import Settings
from aker_core.run import RunContext
from aker_data.models import PillarScore, Run

#: Upper bound of every wait in these tests, seconds.
WAIT_SECONDS = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> str:
    """The body of ``url`` (raises on HTTP errors or connection failures)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode("utf-8"))


def wait_http(url: str, *, proc: subprocess.Popen[bytes] | None = None, timeout: float = WAIT_SECONDS) -> str:
    """Poll ``url`` until it answers 200 and return the body; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode} before {url} answered")
        try:
            return http_get(url, timeout=2.0)
        except (OSError, urllib.error.URLError) as e:
            last = e
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {timeout}s: {last}")


def parse_samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``{(sample name, labels): value}`` of a Prometheus text exposition."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    """The value of one sample of :func:`parse_samples` output, or ``None``."""
    return samples.get((name, frozenset(labels.items())))


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc`` (SIGTERM, then SIGKILL after 10 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class ExporterProcess:
    """A running ``python -m aker_core.monitoring.metrics`` and where it serves."""

    proc: subprocess.Popen[bytes]
    port: int
    stderr_path: Path

    @property
    def url(self) -> str:
        """The metrics URL on 127.0.0.1."""
        return f"http://127.0.0.1:{self.port}/metrics"

    def stderr(self) -> str:
        """What the exporter logged so far."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def start_exporter(tmp_path: Path) -> Iterator[Callable[..., ExporterProcess]]:
    """Factory starting exporters on free loopback ports; all are terminated afterwards."""
    started: list[ExporterProcess] = []

    def start(database_url: str, *, wait: bool = True, **env: str) -> ExporterProcess:
        port = free_port()
        stderr_path = tmp_path / f"exporter-{port}.log"
        full_env = {**os.environ, "AKER_POSTGIS_DSN": database_url, **env}
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "aker_core.monitoring.metrics", "--addr", "127.0.0.1", "--port", str(port)],
                env=full_env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        exporter = ExporterProcess(proc, port, stderr_path)
        started.append(exporter)
        if wait:
            wait_http(exporter.url, proc=proc)
        return exporter

    yield start
    for exporter in started:
        stop_process(exporter.proc)


def make_runs(factory: sessionmaker[Session], url: str) -> None:
    """Record runs of two families (2 completed A, 1 completed + 1 failed B, 1 without family),
    one still running, lineage rows, and pillar scores for two dates (3 markets on the latest)."""
    settings = Settings(postgis_dsn=url)
    for family, lineage in (("A", 2), ("A", 1), ("B", 1), (None, 0)):
        with RunContext(factory, settings=settings, task_family=family) as run:
            for i in range(lineage):
                run.log_lineage(table=f"t{i}", source="sample", rows=10)
    with pytest.raises(RuntimeError), RunContext(factory, settings=settings, task_family="B"):
        raise RuntimeError("boom")
    now = dt.datetime.now(dt.UTC)
    with factory() as s, s.begin():
        s.execute(
            insert(Run).values(
                run_id="00000000-0000-0000-0000-000000000001",
                git_sha="x",
                config_hash="h",
                config_json={},
                seed=1,
                started_at=now,
                status="running",
                task_family="A",
            )
        )
        for msa, day in (("m1", 1), ("m2", 1), ("m1", 2), ("m2", 2), ("m3", 2)):
            s.execute(insert(PillarScore).values(msa_id=msa, score_as_of=dt.date(2024, 6, day), weights={}))


@pytest.fixture
def populated(engine: Engine, db_url: str, session_factory: sessionmaker[Session]) -> str:
    """URL of a migrated database (SQLite and PostgreSQL) holding the runs of :func:`make_runs`."""
    make_runs(session_factory, db_url)
    return db_url


@pytest.fixture
def populated_sqlite(sqlite_url: str) -> Iterator[str]:
    """Like :func:`populated`, on SQLite only (for slow tests where one backend is enough)."""
    from aker_data.engine import create_engine_from_url
    from aker_data.migrate import upgrade

    eng = create_engine_from_url(sqlite_url)
    upgrade(eng)
    make_runs(sessionmaker(bind=eng), sqlite_url)
    yield sqlite_url
    eng.dispose()


def binary_or_skip(name: str) -> str:
    """Path of executable ``name``, or skip the test saying which Debian package provides it."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} not installed (Debian package {name}; .ci/run installs it)"
        if os.environ.get("AKER_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(f"AKER_REQUIRE_PROMETHEUS=1 but {reason}")
        pytest.skip(reason)
    return path
