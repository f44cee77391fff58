"""The metrics exporter: ``python -m aker_core.monitoring.metrics`` serves ``/metrics`` until stopped.

It listens on ``AKER_METRICS_ADDR:AKER_METRICS_PORT`` (default ``127.0.0.1:9000``; ``--addr`` and
``--port`` override) and answers every scrape from the run database named by ``AKER_POSTGIS_DSN``
(see :class:`~aker_core.monitoring.collector.AkerCollector`), plus the usual ``process_*`` and
``python_info`` series. SIGINT or SIGTERM stops it cleanly with exit status 0.

Example:
    .. code-block:: bash

        python -m aker_core.monitoring.metrics &
        curl -s http://localhost:9000/metrics | grep '^aker_'
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterable, Sequence
from types import FrameType
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector, start_http_server

from aker_core.config import Settings, get_settings
from aker_core.exceptions import ConfigError
from aker_core.logging import configure_logging
from aker_core.monitoring.collector import AkerCollector
from aker_core.redact import secret_values

__all__ = ["Exporter", "build_registry", "main"]

# Not __name__: run with -m this module is "__main__", outside the aker loggers configured.
log = logging.getLogger("aker_core.monitoring.metrics")


def build_registry(
    database_url: str,
    registry: CollectorRegistry | None = None,
    *,
    secrets: Iterable[str] = (),
    abandoned_after: float | None = None,
) -> tuple[CollectorRegistry, AkerCollector]:
    """Register an :class:`AkerCollector` for ``database_url`` on ``registry`` (a new one if omitted).

    Returns:
        The registry and the collector (call its ``close()`` when done).
    """
    registry = registry if registry is not None else CollectorRegistry()
    collector = AkerCollector(database_url, secrets=secrets, abandoned_after=abandoned_after)
    registry.register(collector)
    return registry, collector


class Exporter:
    """An HTTP server exposing a registry in the Prometheus text format, on a background thread.

    Args:
        registry: what each scrape returns.
        addr: address to bind (an IPv6 address works too).
        port: port to bind; 0 picks a free one (see :attr:`port`).

    Raises:
        OSError: the address cannot be bound (in use, not local, no permission).
    """

    def __init__(self, registry: CollectorRegistry, addr: str, port: int) -> None:
        self._server: WSGIServer
        self._server, self._thread = start_http_server(port, addr=addr, registry=registry)
        self.addr = addr
        self.port: int = int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The URL of the metrics page."""
        host = f"[{self.addr}]" if ":" in self.addr else self.addr
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _parse_args(argv: Sequence[str] | None, settings: Settings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m aker_core.monitoring.metrics",
        description="Serve aker's Prometheus metrics (read from the run database at scrape time).",
    )
    parser.add_argument("--addr", default=settings.metrics_addr, help="address to bind (AKER_METRICS_ADDR)")
    parser.add_argument(
        "--port",
        type=int,
        default=settings.metrics_port,
        help="port to bind, 0 = any free (AKER_METRICS_PORT)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the exporter until SIGINT/SIGTERM.

    Returns:
        0 after a clean stop, 1 if the address cannot be bound, 2 for invalid configuration.
    """
    try:
        settings = get_settings()
    except ConfigError as e:
        print(f"aker metrics: invalid configuration: {e}", file=sys.stderr)
        return 2
    args = _parse_args(argv, settings)
    configure_logging(settings)
    registry, collector = build_registry(
        settings.database_url, secrets=secret_values(settings), abandoned_after=settings.run_abandoned_after
    )
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)

    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        exporter = Exporter(registry, args.addr, args.port)
    except OSError as e:
        log.error("cannot listen on %s:%s: %s", args.addr, args.port, e)
        collector.close()
        return 1
    log.info("serving metrics on %s (database %s)", exporter.url, collector.masked_url)
    try:
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(1.0):
            pass
    finally:
        exporter.stop()
        collector.close()
    log.info("metrics exporter stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
