"""Bounded database waits and how their failures surface (issue #11, item 3).

PostgreSQL gets a connect and a statement timeout (``AKER_DB_CONNECT_TIMEOUT`` /
``AKER_DB_STATEMENT_TIMEOUT``); a database that cannot be reached, goes away or does not answer in
time is a :class:`DatabaseConnectionError` / :class:`DatabaseTimeoutError` -- an aker error and a
SQLAlchemy error -- naming the database without its password, and the cause.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from aker_core.config import RESULT_FIELDS, Settings, get_settings
from aker_core.exceptions import AkerError, ConfigError
from aker_core.redact import mask_dsn
from aker_data import engine as engine_module
from aker_data.engine import create_engine_from_url, database_engine, get_engine
from aker_data.exceptions import DatabaseConnectionError, DatabaseTimeoutError, DataError, SchemaOutOfDateError

PASSWORD = "Tim3outPassw0rd"


@contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP server on a free loopback port that accepts every connection and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:  # timeout: look at the stop flag again
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _forget_unanswered() -> Iterator[None]:
    """Each test starts without a remembered connect timeout (see engine._unanswered)."""
    engine_module._unanswered.clear()
    yield
    engine_module._unanswered.clear()


# --- the exception family --------------------------------------------------------------------


def test_one_exception_root() -> None:
    """Every persistence error is an AkerError; the connection errors are SQLAlchemy errors too."""
    for cls in (DataError, SchemaOutOfDateError, DatabaseConnectionError, DatabaseTimeoutError):
        assert issubclass(cls, AkerError)
    assert issubclass(DatabaseTimeoutError, DatabaseConnectionError)
    # Code that treats any SQLAlchemy error as "the database cannot answer" keeps working.
    assert issubclass(DatabaseConnectionError, SQLAlchemyError)
    assert str(DatabaseTimeoutError("database x: y")) == "database x: y"


def test_core_exceptions_import_nothing_of_aker_or_sqlalchemy() -> None:
    """aker_core.exceptions stays dependency-free, so aker_data can derive from it without a cycle."""
    code = (
        "import sys, aker_core.exceptions as e; "
        "bad = [m for m in sys.modules if m.startswith(('sqlalchemy', 'aker_data', 'pydantic', 'aker_core.config'))]; "
        "assert not bad, bad; import aker_data.exceptions"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- settings ----------------------------------------------------------------------------------


def test_timeout_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults 10 s and 300 s; both are operational: neither enters the config hash."""
    settings = Settings()
    assert (settings.db_connect_timeout, settings.db_statement_timeout) == (10, 300)
    assert not {"db_connect_timeout", "db_statement_timeout"} & set(RESULT_FIELDS)
    monkeypatch.setenv("AKER_DB_CONNECT_TIMEOUT", "3")
    monkeypatch.setenv("AKER_DB_STATEMENT_TIMEOUT", "0")
    changed = Settings()
    assert (changed.db_connect_timeout, changed.db_statement_timeout) == (3, 0)
    assert changed.config_hash == settings.config_hash
    assert changed.snapshot()["db_statement_timeout"] == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [("AKER_DB_CONNECT_TIMEOUT", "0"), ("AKER_DB_CONNECT_TIMEOUT", "soon"), ("AKER_DB_STATEMENT_TIMEOUT", "-1")],
)
def test_invalid_timeout_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    """A bad timeout is a ConfigError naming its AKER_ variable."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        get_settings()


# --- connecting --------------------------------------------------------------------------------


def test_server_that_never_answers_times_out_and_is_not_waited_for_again() -> None:
    """A listener that accepts and never answers: DatabaseTimeoutError within the connect timeout,
    and a second attempt right after fails at once instead of waiting again."""
    with silent_listener() as port:
        url = f"postgresql://aker:{PASSWORD}@127.0.0.1:{port}/aker"
        engine = create_engine_from_url(url, connect_timeout=2)
        started = time.monotonic()
        with pytest.raises(DatabaseTimeoutError) as info:
            engine.connect()
        waited = time.monotonic() - started
        again = time.monotonic()
        with pytest.raises(DatabaseTimeoutError) as second:
            engine.connect().close()
        engine.dispose()
    assert 1.5 < waited < 8, waited
    assert time.monotonic() - again < 0.5
    message = str(info.value)
    assert PASSWORD not in message and PASSWORD not in str(second.value)
    assert f"postgresql+psycopg://aker:***@127.0.0.1:{port}/aker" in message
    assert "did not answer within 2 s (AKER_DB_CONNECT_TIMEOUT)" in message
    assert "\n" not in message


def test_refused_connection_is_a_connection_error_naming_the_cause() -> None:
    """Nothing listening: DatabaseConnectionError at once, not a timeout, password hidden."""
    port = free_port()
    engine = create_engine_from_url(f"postgresql://aker:{PASSWORD}@127.0.0.1:{port}/aker?sslmode=disable")
    started = time.monotonic()
    with pytest.raises(DatabaseConnectionError) as info:
        engine.connect()
    engine.dispose()
    assert time.monotonic() - started < 5
    assert not isinstance(info.value, DatabaseTimeoutError)
    message = str(info.value)
    assert message.startswith(f"cannot connect to database postgresql+psycopg://aker:***@127.0.0.1:{port}/aker")
    assert "Connection refused" in message
    assert PASSWORD not in message and "\n" not in message


def test_unopenable_sqlite_file_is_a_connection_error(tmp_path: Path) -> None:
    """SQLite: a database file that cannot be opened is reported the same way."""
    (tmp_path / "dir").mkdir()
    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'dir'}")  # a directory, not a file
    expected = r"cannot connect to database sqlite:///.*dir: unable to open"
    with pytest.raises(DatabaseConnectionError, match=expected), engine.connect() as conn:
        conn.execute(text("select 1"))
    engine.dispose()


def test_sqlite_lock_wait_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's bound is its busy timeout: a writer that waited that long gets DatabaseTimeoutError."""
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 300)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    holder, waiter = create_engine_from_url(url), create_engine_from_url(url)
    with holder.connect() as conn:
        conn.execute(text("create table t (x int)"))
        conn.commit()
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.execute(text("insert into t values (1)"))
        started = time.monotonic()
        with pytest.raises(DatabaseTimeoutError, match="stayed locked by another process"), waiter.begin() as other:
            other.execute(text("insert into t values (2)"))
        assert time.monotonic() - started < 5
        conn.rollback()
    holder.dispose()
    waiter.dispose()


def test_mask_dsn_hides_passwords_everywhere() -> None:
    """The URL shown in errors keeps user, host, port, database and query but no password."""
    shown = mask_dsn(f"postgresql://aker:{PASSWORD}@db:5432/aker?sslmode=require&password={PASSWORD}")
    assert PASSWORD not in shown
    assert shown.startswith("postgresql://aker:***@db:5432/aker?")
    assert "sslmode=require" in shown


# --- PostgreSQL: the timeouts in force --------------------------------------------------------


@pytest.mark.postgres
def test_statement_timeout_cancels_a_sleeping_query(postgres_url: str) -> None:
    """AKER_DB_STATEMENT_TIMEOUT=1 and pg_sleep(5): DatabaseTimeoutError after ~1 s naming the bound."""
    engine = create_engine_from_url(postgres_url, statement_timeout=1)
    with engine.connect() as conn:
        # The URL's own options (the test schema's search_path) survive the merge.
        schema = make_url(postgres_url).query["options"].split("=", 1)[1]
        assert conn.execute(text("show search_path")).scalar() == schema
        assert conn.execute(text("show statement_timeout")).scalar() == "1s"
    started = time.monotonic()
    with pytest.raises(DatabaseTimeoutError) as info, engine.connect() as conn:
        conn.execute(text("select pg_sleep(5)"))
    assert time.monotonic() - started < 4
    message = str(info.value)
    assert "a statement ran longer than 1 s (AKER_DB_STATEMENT_TIMEOUT) and was cancelled" in message
    assert "statement timeout" in message
    assert mask_dsn(postgres_url).split("?")[0].replace("postgresql:", "postgresql+psycopg:") in message
    # The connection is usable afterwards (the pool hands out a working one).
    with engine.connect() as conn:
        assert conn.execute(text("select 1")).scalar() == 1
    engine.dispose()


@pytest.mark.postgres
def test_no_statement_timeout_when_zero_and_url_setting_wins(postgres_url: str) -> None:
    """0 (or None) sets no timeout; a statement_timeout in the URL's options beats the argument."""
    unbounded = create_engine_from_url(postgres_url, statement_timeout=0)
    with unbounded.connect() as conn:
        assert conn.execute(text("show statement_timeout")).scalar() == "0"
    unbounded.dispose()
    url = make_url(postgres_url)
    own = url.update_query_dict({"options": f"{url.query['options']} -c statement_timeout=7000"})
    engine = create_engine_from_url(own.render_as_string(hide_password=False), statement_timeout=1)
    with engine.connect() as conn:
        assert conn.execute(text("show statement_timeout")).scalar() == "7s"
    engine.dispose()


@pytest.mark.postgres
def test_lost_connection_is_a_connection_error(postgres_url: str) -> None:
    """A backend terminated under an open connection: DatabaseConnectionError ("lost the connection")."""
    engine = create_engine_from_url(postgres_url)
    admin = create_engine_from_url(postgres_url)
    with pytest.raises(DatabaseConnectionError, match="lost the connection to database"), engine.connect() as conn:
        pid = conn.execute(text("select pg_backend_pid()")).scalar()
        with admin.connect() as other:
            other.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
        conn.execute(text("select 1"))
    # The pool recovers: the next connection works.
    with engine.connect() as conn:
        assert conn.execute(text("select 1")).scalar() == 1
    engine.dispose()
    admin.dispose()


@pytest.mark.postgres
def test_task_engine_carries_the_configured_timeouts(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """database_engine (every engine aker uses) applies AKER_DB_*_TIMEOUT."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", postgres_url)
    monkeypatch.setenv("AKER_DB_STATEMENT_TIMEOUT", "2.5")
    monkeypatch.setenv("AKER_DB_CONNECT_TIMEOUT", "4")
    engine = database_engine()
    assert engine is get_engine(postgres_url, connect_timeout=4, statement_timeout=2.5)
    assert engine is not get_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(text("show statement_timeout")).scalar() == "2500ms"
        assert conn.connection.driver_connection.info.get_parameters()["connect_timeout"] == "4"  # type: ignore[union-attr]
