"""Sending OpenLineage events without ever failing or noticeably slowing the pipeline.

Events go to the client from one background thread per process, so a task never waits on the
receiver while it works. At the end of each task :meth:`Sender.flush` waits for what is queued,
at most :data:`FLUSH_SECONDS` -- the process may end with the task (a forked worker does) -- and
whatever the configured transport does (the HTTP transport retries a refused connection for
~9 s by default, and a receiver that accepts but never answers for longer) the pipeline is
delayed at most that long, once.

The first failure (an error, or no answer within the bound) is logged as ONE warning line and
turns sending off for the rest of the invocation: the flag lives in a page shared with the
workers forked after it was made, so they neither wait again nor warn again. The transport's
own retry warnings from the sending thread are dropped for the same reason.
"""

from __future__ import annotations

import logging
import mmap
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["FLUSH_SECONDS", "Sender"]

logger = logging.getLogger("aker_tasks.openlineage")

#: Longest wait for queued events at the end of a task.
FLUSH_SECONDS = 3.0
THREAD_NAME = "aker-openlineage"
#: Loggers that report the transport's retries and errors from the sending thread.
QUIETED_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "openlineage")


class _FromSenderThread(logging.Filter):
    """Drop records logged by the sending thread: aker reports a failure once, itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME


class Sender:
    """Queue events for the client's transport; flush with a bound; warn once; then stay quiet.

    Args:
        make_client: builds the ``OpenLineageClient`` (called in the sending thread, once).
        describe: names where events go, for the warning (never a secret).
    """

    def __init__(self, make_client: Callable[[], Any], describe: Callable[[], str]) -> None:
        self._make_client = make_client
        self._describe = describe
        self._client: Any = None
        self._queue: queue.Queue[tuple[Any, threading.Event]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._last: threading.Event | None = None
        self._pid = os.getpid()
        # One byte shared with forked workers: 1 once sending failed anywhere in the invocation.
        self._shared = mmap.mmap(-1, 1)
        self._warned = False
        quiet = _FromSenderThread()
        for name in QUIETED_LOGGERS:
            logging.getLogger(name).addFilter(quiet)

    @property
    def off(self) -> bool:
        """Whether sending failed in this invocation (here or in another worker)."""
        return self._shared[0] == 1

    def _give_up(self, reason: str) -> None:
        already = self.off
        self._shared[0] = 1
        if not (already or self._warned):
            self._warned = True
            logger.warning(
                "OpenLineage: events cannot be sent to %s (%s); the run carries on without them",
                self._describe(),
                reason,
            )

    def send(self, event: Any) -> None:
        """Queue ``event`` (dropped once sending is off)."""
        if self.off:
            return
        if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
            # A forked worker inherits no running thread (and must not share a queue).
            self._pid = os.getpid()
            self._queue = queue.Queue()
            self._thread = threading.Thread(target=self._work, name=THREAD_NAME, daemon=True)
            self._thread.start()
        done = threading.Event()
        self._last = done
        self._queue.put((event, done))

    def flush(self, timeout: float = FLUSH_SECONDS) -> None:
        """Wait until every queued event was handed to the transport, at most ``timeout`` seconds."""
        last = self._last
        if last is None or self.off or self._pid != os.getpid():
            return
        if not last.wait(timeout):
            self._give_up(f"not delivered within {timeout:g} s")

    def _work(self) -> None:
        while True:
            event, done = self._queue.get()
            try:
                if not self.off:
                    if self._client is None:
                        self._client = self._make_client()
                    self._client.emit(event)
            except Exception as e:
                self._give_up(f"{type(e).__name__}: {_short(e)}")
            finally:
                done.set()


def _short(error: BaseException) -> str:
    """The error's first line, shortened (HTTP errors can carry whole pages)."""
    from aker_core.redact import redact

    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return redact(text[:300])
