"""Shared fixtures: an isolated environment per test and run databases on SQLite and PostgreSQL.

PostgreSQL tests use ``AKER_TEST_POSTGRES_DSN`` (default: the local trust-auth server's
``aker_test`` database) and get a private schema each, dropped afterwards. Where no server
answers they skip with the reason -- unless ``AKER_REQUIRE_POSTGRES=1`` (set by ``.ci/run``),
where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from aker_core.config import reset_settings
from aker_data.engine import create_engine_from_url, dispose_engines
from aker_data.migrate import upgrade

DEFAULT_PG_DSN = "postgresql+psycopg://postgres@127.0.0.1:5432/aker_test"
ROOT = Path(__file__).resolve().parent.parent
_pg_status: dict[str, str | None] = {}


def pg_base_dsn() -> str:
    """The PostgreSQL server/database the tests may use."""
    return os.environ.get("AKER_TEST_POSTGRES_DSN", DEFAULT_PG_DSN)


def pg_unavailable_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or ``None`` when the server answers."""
    if "reason" not in _pg_status:
        engine = create_engine_from_url(pg_base_dsn(), connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            _pg_status["reason"] = None
        except Exception as e:
            url = make_url(pg_base_dsn()).render_as_string(hide_password=True)
            _pg_status["reason"] = f"PostgreSQL not reachable at {url} ({type(e).__name__}: {str(e)[:200]})"
        finally:
            engine.dispose()
    return _pg_status["reason"]


def require_postgres() -> None:
    """Skip (or, with ``AKER_REQUIRE_POSTGRES=1``, fail) when PostgreSQL is not reachable."""
    reason = pg_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("AKER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (AKER_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No AKER_*/OPENLINEAGE* variable, .env or cache of the developer's leaks into a test."""
    for key in list(os.environ):
        if key.startswith("AKER_") and key not in ("AKER_TEST_POSTGRES_DSN", "AKER_REQUIRE_POSTGRES"):
            monkeypatch.delenv(key)
        if key.startswith("OPENLINEAGE"):  # a developer's receiver must not get the tests' events
            monkeypatch.delenv(key)
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")  # ... nor one in ~/.openlineage/openlineage.yml
    monkeypatch.setenv("GIT_SHA", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.delenv("GIT_DIRTY", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("AKER_CACHE_PATH", str(tmp_path / "cache"))
    # The checkout's own .env must not leak in; tests that want one write ./.env here.
    monkeypatch.setenv("AKER_ENV_FILE", str(work / ".env"))
    reset_settings()
    _reset_luigi()
    yield
    reset_settings()
    dispose_engines()
    _reset_luigi()


def _reset_luigi() -> None:
    try:
        import luigi.configuration
        import luigi.task_register
    except ImportError:  # luigi is a dependency; this only guards partial installs
        return
    luigi.task_register.Register.clear_instance_cache()
    luigi.configuration.LuigiConfigParser._instance = None
    from aker_tasks.luigi_setup import use_packaged_config

    use_packaged_config()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite database file under ``tmp_path``."""
    return f"sqlite:///{tmp_path / 'db' / 'aker.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a private, empty schema in the test PostgreSQL database (dropped afterwards)."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine_from_url(pg_base_dsn())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(pg_base_dsn()).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head (both backends)."""
    eng = create_engine_from_url(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A ``sessionmaker`` on the migrated test database."""
    return sessionmaker(bind=engine)
