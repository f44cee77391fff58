"""Run Alembic from Python: upgrade a database and check that it is at head.

The migrations ship inside this package (:data:`MIGRATIONS_DIR`), and :func:`alembic_config`
builds Alembic's configuration in code, so an installed wheel migrates without the repository's
``alembic.ini`` (which only serves the ``alembic`` command run from a checkout).
"""

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
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "schema_is_current",
    "upgrade",
]

#: Alembic's script directory (``env.py``, ``script.py.mako``, ``versions/``), shipped in the package.
MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")


def alembic_config() -> Config:
    """aker's Alembic configuration, built in code so that it needs no ``alembic.ini`` on disk.

    The database URL is not part of it: ``env.py`` takes the connection handed over in
    ``config.attributes`` (as :func:`upgrade` does) or else reads aker's Settings.
    """
    from alembic.config import Config

    cfg = Config()
    # ConfigParser interpolates "%": escape it in the path, keep it in the template.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    # Callers embedding aker keep their own logging; only the alembic CLI configures it from the ini.
    cfg.attributes["configure_logger"] = False
    return cfg


def head_revision() -> str:
    """The single head revision of :data:`MIGRATIONS_DIR`."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise SchemaOutOfDateError(f"{MIGRATIONS_DIR} has no revision")
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


#: The head revision this code expects (a test checks it equals the head of :data:`MIGRATIONS_DIR`).
#: Checking a database against it needs one SELECT and no Alembic import.
HEAD = "0004"


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
