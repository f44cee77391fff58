"""aker_data.readonly: the one way aker reads the run database, on both backends."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from aker_data.readonly import DatabaseUnreadable, read_rows, sqlite_file


def _sqlite_with_row(path: Path) -> str:
    """A WAL-mode SQLite file (as aker's run database) with one dated row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("CREATE TABLE t (day TEXT, n INTEGER)")
    conn.execute("INSERT INTO t VALUES ('2024-06-30', 1)")
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def test_missing_sqlite_file_is_unreadable_and_not_created(tmp_path: Path) -> None:
    """A lost SQLite file is one error naming it, and reading does not create it."""
    path = tmp_path / "gone" / "aker.db"
    with pytest.raises(DatabaseUnreadable, match=r"gone/aker\.db does not exist"):
        read_rows(f"sqlite:///{path}", "SELECT 1")
    assert not path.parent.exists()


def test_a_read_leaves_no_wal_or_shm_file(tmp_path: Path) -> None:
    """Reading the embedded default leaves the directory as it was (no -wal/-shm files)."""
    url = _sqlite_with_row(tmp_path / "db" / "aker.db")
    rows = read_rows(url, "SELECT day, n FROM t WHERE day <= :day", {"day": dt.date(2024, 12, 31)})
    assert rows.names == ["day", "n"] and rows.rows == [("2024-06-30", 1)]
    assert sorted(p.name for p in (tmp_path / "db").iterdir()) == ["aker.db"]


def test_sees_what_a_writer_holding_the_file_open_committed(tmp_path: Path) -> None:
    """A writer's committed rows are read while it keeps its connection (and the WAL) open."""
    url = _sqlite_with_row(tmp_path / "aker.db")
    writer = sqlite3.connect(tmp_path / "aker.db")
    try:
        writer.execute("INSERT INTO t VALUES ('2024-09-30', 2)")
        writer.commit()
        assert [r[1] for r in read_rows(url, "SELECT * FROM t ORDER BY day").rows] == [1, 2]
    finally:
        writer.close()


def test_a_missing_table_is_unreadable(tmp_path: Path) -> None:
    """A database without aker's tables answers with one error naming the database."""
    url = _sqlite_with_row(tmp_path / "aker.db")
    with pytest.raises(DatabaseUnreadable, match=r"aker\.db: no such table: runs"):
        read_rows(url, "SELECT * FROM runs")


def test_only_plain_sqlite_file_urls_bypass_sqlalchemy() -> None:
    """Memory databases, query strings and other drivers go through the engine."""
    assert sqlite_file("sqlite:////var/aker.db") == Path("/var/aker.db")
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("sqlite:////var/aker.db?timeout=5") is None
    assert sqlite_file("postgresql+psycopg://u@h/db") is None


@pytest.mark.postgres
def test_postgres_binds_dates_as_dates(postgres_url: str) -> None:
    """On PostgreSQL a date parameter compares with a date column."""
    from aker_data.engine import create_engine_from_url

    engine: Engine = create_engine_from_url(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (day date, n integer)"))
        conn.execute(text("INSERT INTO t VALUES ('2024-06-30', 1), ('2024-09-30', 2)"))
    engine.dispose()
    rows = read_rows(postgres_url, "SELECT n FROM t WHERE day < :day", {"day": dt.date(2024, 7, 1)})
    assert rows.rows == [(1,)]


def test_unreachable_server_is_one_line_without_the_password() -> None:
    """A server that refuses the connection: one error, and the password never appears."""
    url = "postgresql+psycopg://aker:s3cretpass@127.0.0.1:1/aker?connect_timeout=2"
    with pytest.raises(DatabaseUnreadable) as caught:
        read_rows(url, "SELECT 1")
    message = str(caught.value)
    assert "s3cretpass" not in message and "\n" not in message and "127.0.0.1" in message
