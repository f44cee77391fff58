"""Engines for the run database: SQLite (embedded default) and PostgreSQL.

:func:`database_engine` is how aker reaches its database: this process's one engine on the
configured URL, with the configured timeouts (``AKER_DB_CONNECT_TIMEOUT``,
``AKER_DB_STATEMENT_TIMEOUT``) -- the one place they are applied. Under it, :func:`get_engine`
keeps one engine per process, URL and timeouts, and :func:`create_engine_from_url` builds one
with the per-backend settings aker relies on.

**Bounded waits.** On PostgreSQL a connection attempt gives up after ``connect_timeout`` seconds
(libpq ``connect_timeout``) and every statement after ``statement_timeout`` seconds (the server's
``statement_timeout``, sent as a ``-c`` option at connect time), so a server that accepts
connections but never answers cannot hang a task. SQLite runs statements in this process on a
local file: the one thing it waits for is another process's write lock, for
:data:`SQLITE_BUSY_TIMEOUT_MS` (its *busy timeout*; ``statement_timeout`` does not apply).

**Errors.** Every engine turns the driver's errors for a database that cannot be reached, goes
away or does not answer in time into :class:`~aker_data.exceptions.DatabaseConnectionError` /
:class:`~aker_data.exceptions.DatabaseTimeoutError` (aker errors, and SQLAlchemy errors too),
whose one-line message names the database URL without its password and the cause.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url

from aker_core.config.settings import Settings
from aker_core.redact import MIN_SECRET_CHARS, mask_dsn, redact
from aker_data.exceptions import DatabaseConnectionError, DatabaseTimeoutError

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "create_engine_from_url",
    "database_engine",
    "dispose_engines",
    "get_engine",
    "normalise_url",
]

#: How long a SQLite writer waits for another process's write lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: Seconds a PostgreSQL connection attempt may take unless the caller says otherwise (the
#: default of ``AKER_DB_CONNECT_TIMEOUT``); every engine aker makes is bounded.
DEFAULT_CONNECT_TIMEOUT_S: int = Settings.model_fields["db_connect_timeout"].default

#: Longest driver message quoted in an error (they are one or two sentences).
_MAX_CAUSE_CHARS = 500

_engines: dict[tuple[str, float | None, float | None], Engine] = {}
_lock = threading.Lock()

#: Masked URL -> (monotonic time until which connecting fails at once, the error): see
#: :class:`_ErrorTranslator`. Module-level, so forked Luigi workers inherit it.
_unanswered: dict[str, tuple[float, DatabaseConnectionError]] = {}


def normalise_url(url: str | URL) -> URL:
    """Parse ``url`` and pin PostgreSQL to the psycopg 3 driver aker depends on."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL is a property of the file: set it once. Switching needs an exclusive lock that
        # SQLite may refuse without waiting while another process writes; that process's
        # connection (or the next one) sets it, so a refusal here is harmless.
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            with contextlib.suppress(sqlite3.OperationalError):
                cursor.execute("PRAGMA journal_mode=WAL")
        # WAL is crash-safe with NORMAL; FULL would fsync every commit for no gain here.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _seconds(value: float) -> str:
    return f"{value:g} s"


class _ErrorTranslator:
    """The engine's ``handle_error`` and ``do_connect`` hooks (see the module docstring).

    After a connection attempt *timed out*, further attempts on the same database (any engine of
    this process or its forked workers) within the next ``connect_timeout`` seconds fail at once
    with the same error instead of waiting again: a Luigi process asks the database from several
    places (completion checks, the schema check, each task), and a hung server would otherwise
    cost the whole timeout at each of them. A refused connection fails at once anyway and is
    always retried.
    """

    def __init__(
        self,
        url: URL,
        *,
        connect_timeout: float | None,
        statement_timeout: float | None,
    ) -> None:
        self.shown = mask_dsn(url)
        self.password = str(url.password) if url.password else None
        self.backend = url.get_backend_name()
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout

    def cause(self, error: BaseException) -> str:
        """The driver's message on one line, without the password, shortened."""
        text = " ".join(str(error).split()) or type(error).__name__
        secrets = [self.password] if self.password and len(self.password) >= MIN_SECRET_CHARS else []
        return redact(text, secrets)[:_MAX_CAUSE_CHARS]

    def _connect_error(self, original: BaseException) -> DatabaseConnectionError:
        cause = self.cause(original)
        if _is_connect_timeout(original):
            bound = ""
            if self.connect_timeout:
                bound = f" within {_seconds(self.connect_timeout)} (AKER_DB_CONNECT_TIMEOUT)"
            error: DatabaseConnectionError = DatabaseTimeoutError(
                f"database {self.shown} did not answer{bound}: {cause}"
            )
            if self.connect_timeout:
                _unanswered[self.shown] = (time.monotonic() + self.connect_timeout, error)
            return error
        return DatabaseConnectionError(f"cannot connect to database {self.shown}: {cause}")

    def handle_error(self, ctx: ExceptionContext) -> BaseException | None:
        """Replace driver errors of an unreachable, lost or unanswering database (else keep them)."""
        original = ctx.original_exception
        if ctx.is_pre_ping or ctx.sqlalchemy_exception is None:
            # A failed pre-ping must stay the driver's error: the pool reconnects on it.
            return None
        if ctx.connection is None:  # the connection attempt itself failed
            return self._connect_error(original)
        if _is_statement_timeout(original):
            bound = (
                f" longer than {_seconds(self.statement_timeout)} (AKER_DB_STATEMENT_TIMEOUT)"
                if self.statement_timeout
                else " too long"
            )
            return DatabaseTimeoutError(
                f"database {self.shown}: a statement ran{bound} and was cancelled: {self.cause(original)}"
            )
        if _is_lock_timeout(original):
            return DatabaseTimeoutError(f"database {self.shown}: gave up waiting for a lock: {self.cause(original)}")
        if _is_sqlite_busy(original):
            return DatabaseTimeoutError(
                f"database {self.shown} stayed locked by another process for {SQLITE_BUSY_TIMEOUT_MS // 1000} s "
                f"(SQLite busy timeout): {self.cause(original)}"
            )
        if ctx.is_disconnect:
            return DatabaseConnectionError(f"lost the connection to database {self.shown}: {self.cause(original)}")
        return None

    def do_connect(self, *_args: Any) -> None:
        """Fail at once while a recent connection attempt's timeout stands (see the class docstring)."""
        retry_at, error = _unanswered.get(self.shown, (0.0, None))
        if error is not None and time.monotonic() < retry_at:
            raise type(error)(*error.args)


def _is_connect_timeout(error: BaseException) -> bool:
    name = type(error).__name__
    return name == "ConnectionTimeout" or "timeout expired" in str(error)


def _is_statement_timeout(error: BaseException) -> bool:
    # SQLSTATE 57014 is also a cancel on request (Ctrl-C): only the timeout is a bounded wait.
    return getattr(error, "sqlstate", None) == "57014" and "statement timeout" in str(error)


def _is_lock_timeout(error: BaseException) -> bool:
    return getattr(error, "sqlstate", None) == "55P03" and "lock timeout" in str(error)


_SQLITE_BUSY = ("database is locked", "database table is locked")


def _is_sqlite_busy(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and str(error) in _SQLITE_BUSY


def _postgres_connect_args(
    parsed: URL,
    connect_args: dict[str, Any],
    connect_timeout: float | None,
    statement_timeout: float | None,
) -> tuple[dict[str, Any], float | None, float | None]:
    """``connect_args`` with the timeouts added, and the timeouts that will be in force.

    A ``connect_timeout`` or ``statement_timeout`` already given in the URL or ``connect_args``
    wins. ``statement_timeout`` goes into libpq's ``options`` ahead of any options the URL or
    ``connect_args`` carry (such as ``-csearch_path=...``), which libpq applies after it.
    """
    args = dict(connect_args)
    given = args.get("connect_timeout", parsed.query.get("connect_timeout"))
    if given is not None:
        with contextlib.suppress(TypeError, ValueError):
            connect_timeout = float(given if not isinstance(given, tuple) else given[-1])
    elif connect_timeout is not None and connect_timeout > 0:
        # libpq takes whole seconds (and waits at least 2).
        args["connect_timeout"] = max(1, math.ceil(connect_timeout))
    options = args.get("options", parsed.query.get("options"))
    if isinstance(options, tuple):
        options = " ".join(options)
    if options and "statement_timeout" in str(options):
        statement_timeout = None  # the URL's own setting applies; its value is not ours to quote
    elif statement_timeout is not None and statement_timeout > 0:
        milliseconds = max(1, round(statement_timeout * 1000))
        args["options"] = f"-c statement_timeout={milliseconds}" + (f" {options}" if options else "")
    else:
        statement_timeout = None
    return args, connect_timeout, statement_timeout


def create_engine_from_url(
    url: str | URL,
    *,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT_S,
    statement_timeout: float | None = None,
    **kwargs: Any,
) -> Engine:
    """Create an engine for ``url`` with aker's per-backend settings.

    SQLite gets foreign keys, WAL, a busy timeout and its parent directory created; PostgreSQL
    gets ``pool_pre_ping``, the psycopg 3 driver and the timeouts. Both translate the errors of a
    database that cannot be reached or does not answer in time (see the module docstring).

    Args:
        url: any SQLAlchemy URL (``sqlite:///path``, ``postgresql://user@host/db`` ...).
        connect_timeout: PostgreSQL: seconds one connection attempt may take (whole seconds, at
            least 2 in libpq); ``None`` or 0 for libpq's default. A ``connect_timeout`` in the
            URL or ``connect_args`` wins.
        statement_timeout: PostgreSQL: seconds a statement may run (including waiting for
            locks) before the server cancels it; ``None`` or 0 sets none. A
            ``statement_timeout`` in the URL's ``options`` wins.
        **kwargs: passed to :func:`sqlalchemy.create_engine`.
    """
    parsed = normalise_url(url)
    connect_args = dict(kwargs.pop("connect_args", {}))
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        translator = _ErrorTranslator(parsed, connect_timeout=None, statement_timeout=None)
    else:
        if parsed.get_backend_name() == "postgresql":
            connect_args, connect_timeout, statement_timeout = _postgres_connect_args(
                parsed, connect_args, connect_timeout, statement_timeout
            )
        else:
            connect_timeout = statement_timeout = None
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        translator = _ErrorTranslator(parsed, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
    event.listen(engine, "handle_error", translator.handle_error)
    event.listen(engine, "do_connect", translator.do_connect)
    return engine


def get_engine(
    url: str | URL,
    *,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT_S,
    statement_timeout: float | None = None,
) -> Engine:
    """Return this process's engine for ``url`` and these timeouts, creating it on first use.

    The timeouts are as for :func:`create_engine_from_url`; callers that have the settings pass
    ``AKER_DB_CONNECT_TIMEOUT`` / ``AKER_DB_STATEMENT_TIMEOUT`` (see ``aker_tasks.database``).
    """
    rendered = normalise_url(url).render_as_string(hide_password=False)
    key = (rendered, connect_timeout, statement_timeout)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = create_engine_from_url(
                rendered, connect_timeout=connect_timeout, statement_timeout=statement_timeout
            )
        return engine


def database_engine(url: str | URL | None = None, settings: Settings | None = None) -> Engine:
    """This process's engine on ``url`` (default: the run database) with the configured timeouts.

    The one way aker reaches a database: the tasks, ``aker db``, ``python -m aker_core.sample
    load`` and the ``alembic`` command all come here, so ``AKER_DB_CONNECT_TIMEOUT`` and
    ``AKER_DB_STATEMENT_TIMEOUT`` are applied in this one place. No schema check (see
    :func:`aker_data.migrate.ensure_schema`).

    Args:
        url: another database than ``settings.database_url`` (e.g. ``alembic -x url=...``).
        settings: default :func:`~aker_core.config.get_settings`.
    """
    if settings is None:
        from aker_core.config import get_settings

        settings = get_settings()
    return get_engine(
        url or settings.database_url,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout or None,
    )


def _forget_engines_in_child() -> None:
    # A forked Luigi worker must not share pooled connections with its parent: drop them
    # without closing (closing would close the parent's sockets too).
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_in_child)


def dispose_engines() -> None:
    """Dispose every engine :func:`get_engine` made (tests; before forking workers)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
