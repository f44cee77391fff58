"""Run Alembic from Python: upgrade a database and check that it is at head."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from aker_data.exceptions import SchemaOutOfDateError

__all__ = ["alembic_config", "current_revision", "ensure_schema", "head_revision", "upgrade"]

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    """The project's Alembic configuration (``alembic.ini`` beside the packages)."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # Callers embedding aker keep their own logging; only the CLI configures it from the ini.
    cfg.attributes["configure_logger"] = False
    return cfg


def head_revision() -> str:
    """The single head revision of ``migrations/``."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise SchemaOutOfDateError("migrations/ has no revision")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``engine``'s database."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Revert migrations down to ``revision`` on ``engine``'s database."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def ensure_schema(engine: Engine, *, auto_upgrade: bool = False) -> None:
    """Make sure the database is at head, upgrading it if ``auto_upgrade`` is set.

    Concurrent callers on one SQLite file (Luigi worker processes) serialise on an advisory
    ``flock`` beside the file and re-check after acquiring it, so exactly one migrates.

    Raises:
        SchemaOutOfDateError: the schema is behind and ``auto_upgrade`` is off.
    """
    head = head_revision()
    if current_revision(engine) == head:
        return
    if not auto_upgrade:
        current = current_revision(engine)
        raise SchemaOutOfDateError(
            f"database schema is at {current or 'nothing (empty database)'}, code expects {head}: "
            "run `alembic upgrade head`"
        )
    with _migration_lock(engine):
        if current_revision(engine) != head:
            upgrade(engine)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
