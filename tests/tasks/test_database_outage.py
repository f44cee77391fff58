"""A run database that never answers or goes away mid-run (issue #11, item 3), with real processes.

- A listener that accepts connections and never answers: the pipeline fails within the connect
  timeout with exit 30 and one-line errors naming the database without its password.
- A private PostgreSQL (``initdb``/``pg_ctl`` on a free port, under ``tmp``) stopped with
  ``pg_ctl -m immediate`` mid-run: bounded failure with exit 30 and one-line errors; started
  again, a rerun exits 0 and publishes every market.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from aker_data.engine import create_engine_from_url
from aker_data.exceptions import DatabaseConnectionError
from tests.tasks.luigiproc import aker_env, copy_sample, free_port, run_luigi, start_luigi

PASSWORD = "0utage-Pa55word"
AS_OF = "2024-06-01"
MARKETS = 100_000
#: How long a failing run may take once its database is gone (generous for a loaded CI machine).
BOUND_S = 20


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ERROR")]


def _assert_one_line_database_errors(output: str, shown_url: str) -> None:
    """Every failed task is one ERROR line naming the masked database; no traceback, no password."""
    errors = _error_lines(output)
    assert errors, output[-3000:]
    for line in errors:
        assert re.search(r"failed .*: Database(Connection|Timeout)Error: ", line), line
        assert shown_url in line, line
    assert "Traceback" not in output
    assert PASSWORD not in output


@contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP server on a free loopback port that accepts every connection and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
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


def test_run_engine_reports_unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tasks' first database use raises an aker error naming the masked URL and the cause."""
    from aker_core.config import reset_settings
    from aker_tasks import database

    port = free_port()
    monkeypatch.setenv("AKER_POSTGIS_DSN", f"postgresql://aker:{PASSWORD}@127.0.0.1:{port}/aker")
    reset_settings()
    database._checked.cache_clear()
    with pytest.raises(DatabaseConnectionError) as info:
        database.run_engine()
    database._checked.cache_clear()
    message = str(info.value)
    assert message.startswith(f"cannot connect to database postgresql+psycopg://aker:***@127.0.0.1:{port}/aker: ")
    assert PASSWORD not in message


@pytest.mark.slow
def test_database_that_never_answers_fails_the_run_within_the_timeout(tmp_path: Path) -> None:
    """AKER_DB_CONNECT_TIMEOUT=2 against a silent listener: exit 30 within ~20 s, one-line errors."""
    source = copy_sample(tmp_path / "source")
    with silent_listener() as port:
        dsn = f"postgresql://aker:{PASSWORD}@127.0.0.1:{port}/aker"
        env = aker_env(tmp_path, source, dsn, AKER_DB_CONNECT_TIMEOUT="2")
        started = time.monotonic()
        proc = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", cwd=tmp_path, timeout=120)
        elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    assert proc.returncode == 30, output[-3000:]
    assert elapsed < BOUND_S, elapsed
    shown = f"postgresql+psycopg://aker:***@127.0.0.1:{port}/aker"
    _assert_one_line_database_errors(output, shown)
    assert f"database {shown} did not answer within 2 s (AKER_DB_CONNECT_TIMEOUT)" in output


# --- a private PostgreSQL server ----------------------------------------------------------------


class PrivateServer:
    """A PostgreSQL cluster of its own (data, socket and log in one temporary directory).

    ``initdb`` refuses to run as root, so as root every server command runs as the ``postgres``
    user (``runuser``); the directory is made theirs. Only this cluster is ever stopped.
    """

    def __init__(self, bindir: Path, base: Path, as_user: list[str]) -> None:
        self.bindir, self.base, self.as_user = bindir, base, as_user
        self.data = base / "data"
        self.port = free_port()

    def _run(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=timeout, check=False, cwd=self.base
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")

    def init(self) -> None:
        initdb = str(self.bindir / "initdb")
        self._run(
            initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = str(self.bindir / "pg_ctl")
        self._run(
            pg_ctl, "-D", str(self.data), "-l", str(self.base / "server.log"), "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self, mode: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        status = [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"]
        return subprocess.run(status, capture_output=True, timeout=30, check=False).returncode == 0

    def createdb(self, name: str) -> None:
        createdb = str(self.bindir / "createdb")
        self._run(createdb, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def dsn(self, database: str, password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://postgres{secret}@127.0.0.1:{self.port}/{database}"


def _unavailable(reason: str) -> None:
    if os.environ.get("AKER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"a private PostgreSQL is required (AKER_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture
def private_postgres() -> Iterator[PrivateServer]:
    """A private PostgreSQL on a free loopback port, with an empty database ``aker``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    initdb = found[-1] if found else shutil.which("initdb")
    if initdb is None:
        _unavailable("no initdb (PostgreSQL server binaries) on this machine")
    assert initdb is not None
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="aker-pg-"))
    if os.geteuid() == 0:
        # initdb refuses root; the cluster belongs to the postgres user, who must reach the directory
        # (pytest's own tmp_path is private to root, hence a directory of its own under /tmp).
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base)
            _unavailable("running as root and there is no 'postgres' user to run initdb as")
        if shutil.which("runuser") is None:
            shutil.rmtree(base)
            _unavailable("running as root and there is no runuser to run initdb as 'postgres'")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    base.chmod(0o755)
    server = PrivateServer(Path(initdb).parent, base, as_user)
    try:
        try:
            server.init()
            server.start()
            server.createdb("aker")
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            _unavailable(f"a private PostgreSQL could not be started: {e}")
        yield server
    finally:
        if server.data.is_dir() and server.running():
            server.stop("fast")
        shutil.rmtree(base, ignore_errors=True)


def _generated_source(directory: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "aker_core.sample",
            "--markets",
            str(MARKETS),
            "--vintages",
            "2",
            "--out",
            str(directory),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return directory


def _wait_for_run_of(dsn: str, family: str | None, proc: subprocess.Popen[str], timeout: float = 120) -> bool:
    """Wait until a ``runs`` row (of ``family``, if given) exists; False if the run ended first."""
    engine = create_engine_from_url(dsn, connect_timeout=2)
    query = "SELECT count(*) FROM runs" + (" WHERE task_family = :family" if family else "")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(text(query), {"family": family}).scalar():
                    return True
            if proc.poll() is not None:
                return False
            time.sleep(0.02)
    finally:
        engine.dispose()
    raise AssertionError(f"no run of {family or 'any task'} within {timeout} s")


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("stop_during", ["FetchSource", "PublishScores"])
def test_postgres_stopped_mid_run_fails_bounded_then_recovers(
    tmp_path: Path, private_postgres: PrivateServer, stop_during: str
) -> None:
    """`pg_ctl -m immediate stop` once the first run of ``stop_during`` is recorded (100k markets):
    exit 30 within the bound with one-line errors; started again, a rerun exits 0 with every
    market published and no run left running."""
    server = private_postgres
    dsn = server.dsn("aker", PASSWORD)
    source = _generated_source(tmp_path / "source")
    env = aker_env(tmp_path, source, dsn, AKER_DB_CONNECT_TIMEOUT="2")
    aker = str(Path(sys.executable).parent / "aker")
    migrate = subprocess.run([aker, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    proc = start_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", cwd=tmp_path)
    try:
        assert _wait_for_run_of(dsn, stop_during, proc), "the run ended before the server could be stopped"
        server.stop("immediate")
        stopped = time.monotonic()
        output, _ = proc.communicate(timeout=120)
        bounded = time.monotonic() - stopped
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 30, output[-3000:]
    assert bounded < BOUND_S, bounded
    _assert_one_line_database_errors(output, f"postgresql+psycopg://postgres:***@127.0.0.1:{server.port}/aker")

    server.start()
    rerun = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", cwd=tmp_path, timeout=300)
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-3000:]
    engine = create_engine_from_url(dsn)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM pillar_scores WHERE score_as_of = :d"), {"d": AS_OF}).scalar()
        publishers = conn.execute(
            text(
                "SELECT DISTINCT r.task_family, r.status FROM pillar_scores p JOIN runs r ON r.run_id = p.run_id "
                "WHERE p.score_as_of = :d"
            ),
            {"d": AS_OF},
        ).all()
        running = conn.execute(text("SELECT count(*) FROM runs WHERE status = 'running'")).scalar()
    engine.dispose()
    assert rows == MARKETS
    assert [tuple(r) for r in publishers] == [("PublishScores", "completed")]
    assert running == 0
