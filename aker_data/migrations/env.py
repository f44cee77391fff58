"""Alembic environment: the URL comes from aker's Settings, never from alembic.ini.

Order of precedence: a connection handed over programmatically (``config.attributes``),
``alembic -x url=...``, then ``Settings().postgis_dsn``. SQLite runs in batch mode so that
ALTERs work there too.

Every revision of one command runs in one transaction (``transaction_per_migration=False``), on
SQLite too: a handed-over connection is already inside the transaction
:func:`aker_data.migrate.run_in_one_transaction` opened; the ``alembic`` command gets the same from
that function here, including its check and safe repair of half-migrated databases (``upgrade``
and ``downgrade``; ``stamp``, ``current`` and the rest run in one plain transaction, so that a
half-migrated database can still be stamped by hand).
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Connection

from aker_data.engine import database_engine
from aker_data.exceptions import SchemaOutOfDateError
from aker_data.migrate import migration_transaction, run_in_one_transaction
from aker_data.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url
    from aker_core.config import Settings

    return Settings().database_url


def _configure(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        # One transaction for all revisions and the version update. SQLite's DDL is transactional
        # on the connections aker_data.migrate gives (Alembic assumes it is not).
        transaction_per_migration=False,
        transactional_ddl=True if sqlite else None,
    )


def _migrate(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def _cli_command() -> str | None:
    """The ``alembic`` command being run (``upgrade``, ``stamp`` ...), ``None`` when called from code."""
    cmd = getattr(config.cmd_opts, "cmd", None)
    return getattr(cmd[0], "__name__", None) if cmd else None


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply migrations on a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = database_engine(_url())
    try:
        if _cli_command() in (None, "upgrade", "downgrade"):
            run_in_one_transaction(engine, _migrate)
        else:
            with migration_transaction(engine) as begin, begin() as conn:
                _migrate(conn)
    except SchemaOutOfDateError as e:
        # The alembic command prints a CommandError as one line ("FAILED: ..."), not a traceback.
        raise CommandError(str(e)) from e
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
