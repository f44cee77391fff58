"""Run Alembic from Python: upgrade a database and check that it is at head."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from aker_data.exceptions import SchemaOutOfDateError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD",
    "alembic_config",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "schema_is_current",
    "upgrade",
]

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    """The project's Alembic configuration (``alembic.ini`` beside the packages)."""
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # Callers embedding aker keep their own logging; only the CLI configures it from the ini.
    cfg.attributes["configure_logger"] = False
    return cfg


def head_revision() -> str:
    """The single head revision of ``migrations/``."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise SchemaOutOfDateError("migrations/ has no revision")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``engine``'s database."""
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Revert migrations down to ``revision`` on ``engine``'s database."""
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


#: The head revision this code expects (a test checks it equals the head of ``migrations/``).
#: Checking a database against it needs one SELECT and no Alembic import.
HEAD = "0003"


def schema_is_current(engine: Engine) -> bool:
    """Whether the database's ``alembic_version`` is :data:`HEAD` (False for an empty database)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    except SQLAlchemyError:
        return False


def ensure_schema(engine: Engine, *, auto_upgrade: bool = False) -> None:
    """Make sure the database is at head, upgrading it if ``auto_upgrade`` is set.

    Concurrent callers on one SQLite file (Luigi worker processes) serialise on an advisory
    ``flock`` beside the file and re-check after acquiring it, so exactly one migrates.

    Raises:
        SchemaOutOfDateError: the schema is behind and ``auto_upgrade`` is off.
    """
    if schema_is_current(engine):
        return
    head = head_revision()
    if not auto_upgrade:
        current = current_revision(engine)
        raise SchemaOutOfDateError(
            f"database schema is at {current or 'nothing (empty database)'}, code expects {head}: "
            "run `alembic upgrade head`"
        )
    with _migration_lock(engine):
        if not schema_is_current(engine):
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
