"""The ``aker`` console script: config, db upgrade/current, luigid, exit codes and no leaked secrets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
from sqlalchemy.engine import make_url

from aker_data.engine import create_engine_from_url
from aker_data.migrate import HEAD, current_revision

AKER = Path(sys.executable).parent / "aker"
SECRET = "s3cret-pw-4711"


@pytest.fixture(autouse=True)
def _console_script() -> None:
    """The tests run the installed entry point, not the module."""
    if not AKER.exists():
        pytest.fail(f"{AKER} is missing: reinstall the project (pip install -e .) to get the console script")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": f"{AKER.parent}:/usr/bin:/bin", "AKER_CACHE_PATH": str(tmp_path / "cache"), **extra}
    if os.environ.get("PYTHONPATH"):  # run the same code as this test process
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _aker(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AKER), *args], env=_env(tmp_path, **extra), capture_output=True, text=True, timeout=120, check=False
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_password(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return url
    # Trust authentication ignores the password: it only has to stay out of the output.
    return parsed.set(password=SECRET).render_as_string(hide_password=False)


def test_db_upgrade_brings_database_to_head(db_url: str, tmp_path: Path) -> None:
    """`aker db upgrade` migrates AKER_POSTGIS_DSN's database to head and prints it without the password."""
    proc = _aker(tmp_path, "db", "upgrade", AKER_POSTGIS_DSN=_with_password(db_url))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(f"at revision {HEAD}")
    assert SECRET not in proc.stdout + proc.stderr
    engine = create_engine_from_url(db_url)
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_db_upgrade_defaults_to_embedded_sqlite(tmp_path: Path) -> None:
    """Without AKER_POSTGIS_DSN the database is <cache>/aker.db."""
    proc = _aker(tmp_path, "db", "upgrade")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"database sqlite:///{tmp_path / 'cache' / 'aker.db'} at revision {HEAD}\n"


def test_db_current_exits_1_until_upgraded(sqlite_url: str, tmp_path: Path) -> None:
    """`aker db current` exits 1 on an empty database and 0 once it is at head."""
    before = _aker(tmp_path, "db", "current", AKER_POSTGIS_DSN=sqlite_url)
    assert (before.returncode, "none (empty database)" in before.stdout) == (1, True)
    assert _aker(tmp_path, "db", "upgrade", AKER_POSTGIS_DSN=sqlite_url).returncode == 0
    after = _aker(tmp_path, "db", "current", AKER_POSTGIS_DSN=sqlite_url)
    assert (after.returncode, after.stdout.strip().endswith(f"at revision {HEAD}")) == (0, True)


def test_db_upgrade_uses_the_configured_connect_timeout(tmp_path: Path) -> None:
    """`aker db upgrade` gives up on a silent server after AKER_DB_CONNECT_TIMEOUT, naming it (exit 3)."""
    from tests.data.test_timeouts import silent_listener

    with silent_listener() as port:
        started = time.monotonic()
        proc = _aker(
            tmp_path,
            "db",
            "upgrade",
            AKER_POSTGIS_DSN=f"postgresql://u:{SECRET}@127.0.0.1:{port}/x",
            AKER_DB_CONNECT_TIMEOUT="2",
        )
        elapsed = time.monotonic() - started
    assert proc.returncode == 3, proc.stderr
    assert "did not answer within 2 s (AKER_DB_CONNECT_TIMEOUT)" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert elapsed < 9  # 2 s, not aker db's former fixed 10 s


def test_db_upgrade_unreachable_database_exits_3(tmp_path: Path) -> None:
    """An unreachable database gives exit 3 and one stderr line without traceback or password."""
    proc = _aker(tmp_path, "db", "upgrade", AKER_POSTGIS_DSN=f"postgresql://u:{SECRET}@127.0.0.1:1/x")
    assert proc.returncode == 3
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert "127.0.0.1" in proc.stderr


def test_db_upgrade_unknown_driver_exits_2(tmp_path: Path) -> None:
    """A DSN naming a driver SQLAlchemy does not know is a configuration error (exit 2)."""
    proc = _aker(tmp_path, "db", "upgrade", AKER_POSTGIS_DSN=f"nosuchdb://u:{SECRET}@h/x")
    assert (proc.returncode, len(proc.stderr.splitlines())) == (2, 1), proc.stderr
    assert SECRET not in proc.stderr


def test_invalid_setting_exits_2(tmp_path: Path) -> None:
    """An invalid AKER_* value makes `aker db upgrade` exit 2 naming the variable, without traceback."""
    proc = _aker(tmp_path, "db", "upgrade", AKER_WEIGHTS__JOBS="-1")
    assert proc.returncode == 2
    assert "AKER_WEIGHTS__JOBS" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_json_prints_config_hash(tmp_path: Path) -> None:
    """`aker config --json` prints the settings and their config_hash as JSON."""
    proc = _aker(tmp_path, "config", "--json", AKER_POSTGIS_DSN=f"postgresql://u:{SECRET}@127.0.0.1/x")
    assert proc.returncode == 0, proc.stderr
    payload = orjson.loads(proc.stdout)
    assert len(payload["config_hash"]) == 32
    assert SECRET not in proc.stdout


def test_plain_config_shows_effective_settings(tmp_path: Path) -> None:
    """Plain `aker config` prints the effective-settings table, not a usage message."""
    proc = _aker(tmp_path, "config")
    assert proc.returncode == 0, proc.stderr
    assert "config_hash = " in proc.stdout
    assert "cache_path" in proc.stdout


def test_no_subcommand_exits_2(tmp_path: Path) -> None:
    """`aker` without a subcommand prints the usage and exits 2."""
    proc = _aker(tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: aker")


def test_unknown_subcommand_exits_2(tmp_path: Path) -> None:
    """An unknown subcommand prints the usage and exits 2."""
    proc = _aker(tmp_path, "frobnicate")
    assert proc.returncode == 2
    assert "usage: aker" in proc.stderr


def test_show_options_reach_aker_tasks_show(tmp_path: Path) -> None:
    """`aker show --help` is aker_tasks.show's help (its options are passed through)."""
    proc = _aker(tmp_path, "show", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--as-of" in proc.stdout


def test_help_imports_neither_pyarrow_nor_sqlalchemy(tmp_path: Path) -> None:
    """`aker --help` loads no pyarrow, SQLAlchemy or Alembic."""
    code = (
        "import sys\nfrom aker_tasks.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pyarrow', 'sqlalchemy', 'alembic'}), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "[]"


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.status)


def test_luigid_serves_task_history(tmp_path: Path) -> None:
    """`aker luigid` answers the scheduler API and /history, keeping its history DB under the cache."""
    port = _free_port()
    log = tmp_path / "luigid.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(AKER), "luigid", "--port", str(port)], env=_env(tmp_path), stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert _get(f"http://127.0.0.1:{port}/api/task_list?data=%7B%7D") == 200
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert _get(f"http://127.0.0.1:{port}/history") == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert (tmp_path / "cache" / "luigid" / "history.db").is_file()
    assert (tmp_path / "cache" / "luigid" / "state.pickle").is_file()


def test_luigid_port_in_use_exits_4(tmp_path: Path) -> None:
    """`aker luigid` on a port already in use exits 4 with one line naming the address."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _aker(tmp_path, "luigid", "--port", str(port))
    assert proc.returncode == 4
    errors = [line for line in proc.stderr.splitlines() if line.startswith("aker luigid:")]
    assert errors == [f"aker luigid: could not serve on 127.0.0.1:{port}: Address already in use"]
    assert "Traceback" not in proc.stderr
