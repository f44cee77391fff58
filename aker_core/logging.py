"""One logging setup for aker's CLI entry points, exporter and Luigi tasks.

:func:`configure_logging` gives the ``aker_core``, ``aker_data`` and ``aker_tasks`` loggers one
handler each (to stderr) in the format ``AKER_LOG_FORMAT`` names:

* ``json`` -- one JSON object per line: ``timestamp``, ``level``, ``logger``, ``message`` and,
  when known, ``run_id``, ``task`` and ``as_of`` (plus ``exception`` and any ``extra=`` fields);
* ``console`` -- one readable line per record.

It never touches the root logger, luigi's loggers or handlers it did not add, and calling it again
replaces its own handlers instead of stacking them. Known secrets (the DSN password, API keys) and
any ``scheme://user:password@`` or ``password=`` text are masked in every line.

Example:
    >>> configure_logging()                                   # doctest: +SKIP
    >>> with log_context(run_id=run.id, task="ScoreMarkets", as_of="2024-06-01"):  # doctest: +SKIP
    ...     logging.getLogger("aker_tasks.score").info("scored %d markets", n)
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

import orjson

from aker_core.config import Settings, get_settings
from aker_core.redact import Redactor, secret_values

__all__ = ["AKER_LOGGERS", "configure_logging", "current_log_context", "log_context"]

#: The package loggers aker configures; everything aker logs lives under one of them.
AKER_LOGGERS: tuple[str, ...] = ("aker_core", "aker_data", "aker_tasks")

#: Fields :func:`log_context` knows by name, in the order they are printed.
CONTEXT_FIELDS: tuple[str, ...] = ("run_id", "task", "as_of")

# Marks handlers this module added, so a second configure_logging() replaces only those.
_HANDLER_FLAG = "_aker_handler"

# ``None`` rather than ``{}`` as default: a shared mutable default could be changed by accident.
_context: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("aker_log_context", default=None)

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


@contextmanager
def log_context(
    *, run_id: str | None = None, task: str | None = None, as_of: object | None = None, **extra: object
) -> Iterator[None]:
    """Attach ``run_id``, ``task``, ``as_of`` (and any other fields) to records logged inside.

    Contexts nest (inner values win) and follow ``contextvars`` rules, so threads and asyncio
    tasks each see their own.

    Args:
        run_id: id of the :class:`~aker_core.run.RunContext` being executed.
        task: Luigi task family (or other unit of work).
        as_of: the scoring date; any value, rendered with ``str`` (dates in ISO format).
        **extra: further fields, rendered with ``str``.
    """
    fields = {"run_id": run_id, "task": task, "as_of": as_of, **extra}
    merged = dict(_context.get() or {})
    for key, value in fields.items():
        if value is not None:
            merged[key] = value.isoformat() if isinstance(value, dt.date) else str(value)
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def current_log_context() -> dict[str, str]:
    """The fields :func:`log_context` currently attaches (a copy)."""
    return dict(_context.get() or {})


class _ContextFilter(logging.Filter):
    """Copies the active :func:`log_context` onto each record; ``extra=`` values win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (no newline inside), secrets masked.

    Args:
        redactor: masks secrets in the message, exception and extra fields.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        ts = dt.datetime.fromtimestamp(record.created, dt.UTC)
        data: dict[str, Any] = {
            "timestamp": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        extras = _extras(record)
        for key in CONTEXT_FIELDS:
            if key in extras:
                data[key] = self._redact(str(extras.pop(key)))
        for key, value in extras.items():
            # Extras may be anything; strings are masked, other values go through str() first.
            data.setdefault(key, value if isinstance(value, bool | int | float) else self._redact(str(value)))
        if record.exc_info:
            data["exception"] = self._redact(self.formatException(record.exc_info))
        if record.stack_info:
            data["stack"] = self._redact(self.formatStack(record.stack_info))
        return orjson.dumps(data, default=str).decode()


class ConsoleFormatter(logging.Formatter):
    """Human-readable line: time, level, logger, ``[run=… task=… as_of=…]``, message.

    Args:
        redactor: masks secrets in the whole rendered line.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(context)s%(message)s")
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one (or, with a traceback, several) readable lines."""
        extras = _extras(record)
        parts = [f"{'run' if k == 'run_id' else k}={extras[k]}" for k in CONTEXT_FIELDS if k in extras]
        # The format string needs the field on the record; removed again so other handlers of
        # the same record do not see it as an ``extra=`` value.
        setattr(record, "context", f"[{' '.join(parts)}] " if parts else "")  # noqa: B010
        try:
            return self._redact(super().format(record))
        finally:
            delattr(record, "context")


def _build_handler(settings: Settings, stream: TextIO) -> logging.Handler:
    redactor = Redactor(secret_values(settings))
    handler = logging.StreamHandler(stream)
    formatter: logging.Formatter = (
        JsonFormatter(redactor) if settings.log_format == "json" else ConsoleFormatter(redactor)
    )
    handler.setFormatter(formatter)
    # On the handler, not the loggers: handler filters also see records of child loggers.
    handler.addFilter(_ContextFilter())
    setattr(handler, _HANDLER_FLAG, True)
    return handler


def configure_logging(settings: Settings | None = None, *, stream: TextIO | None = None) -> None:
    """Send aker's log records to ``stream`` in the configured format and level.

    Idempotent: a second call replaces the handler the first one added (so a changed format or
    level takes effect) and leaves every other handler alone. The aker loggers stop propagating
    to the root logger so that a host application's root handler (luigi's ``basicConfig``, say)
    does not print each aker line a second time in another format.

    Args:
        settings: where ``log_level`` and ``log_format`` come from; defaults to
            :func:`~aker_core.config.get_settings`.
        stream: where lines go; defaults to the current ``sys.stderr``.
    """
    settings = settings or get_settings()
    target = stream if stream is not None else sys.stderr
    for name in AKER_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, _HANDLER_FLAG, False)]:
            logger.removeHandler(old)
        logger.addHandler(_build_handler(settings, target))
        logger.setLevel(settings.log_level)
        logger.propagate = False
