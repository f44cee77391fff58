"""Run Alembic from Python: upgrade a database and check that it is at head.

The migrations ship inside this package (:data:`MIGRATIONS_DIR`), and :func:`alembic_config`
builds Alembic's configuration in code, so an installed wheel migrates without the repository's
``alembic.ini`` (which only serves the ``alembic`` command run from a checkout).

**Crash-safe schema changes.** An upgrade or downgrade -- every revision up to the target and the
``alembic_version`` update -- is *one* transaction, on SQLite too (:func:`run_in_one_transaction`,
used by :func:`upgrade`, :func:`downgrade` and by ``env.py`` for the ``alembic`` command). pysqlite's
legacy transaction handling never puts DDL inside a transaction, so each ``CREATE``/``ALTER`` and each
batch-mode table copy used to commit on its own and a ``kill -9`` left a half-migrated file. SQLite
migrations therefore run on a connection of their own with SQLAlchemy's documented pysqlite recipe
(driver-level autocommit, ``BEGIN IMMEDIATE`` emitted on SQLAlchemy's ``begin`` event) and with foreign
keys off, as SQLite prescribes for table rebuilds (a batch-mode rebuild of ``runs`` must not
cascade into ``lineage``); ``PRAGMA foreign_key_check`` runs before the commit. The engine the
tasks use for data is untouched. PostgreSQL's DDL is transactional already.

**Half-migrated databases** (left by an aker before this, or changed by hand) are checked before
migrating, and again if the migration fails. What is certain to lose nothing is repaired inside the
migration's transaction, with a warning in the log (:func:`diagnose`):

* ``_alembic_tmp_<table>`` leftovers of an interrupted batch-mode copy, when every aker table is
  exactly as ``alembic_version`` says (so ``<table>`` is the intact original): dropped;
* aker tables without an ``alembic_version`` row, each exactly as the first revision creates it and
  all empty (an interrupted first migration; nothing can have written to them): dropped, and the
  migration starts from scratch;
* a schema exactly at a later revision than ``alembic_version`` says, up to :data:`NON_ATOMIC_HEAD`
  (the revisions an aker without atomic migrations applied, all pure DDL, whose last statement
  committed but whose version update did not): ``alembic_version`` is set to it.

Anything else raises :class:`SchemaOutOfDateError` saying what was found and what to run.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import shlex
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import URL

from aker_core.redact import mask_dsn
from aker_data.exceptions import DatabaseConnectionError, SchemaOutOfDateError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD",
    "MIGRATIONS_DIR",
    "NON_ATOMIC_HEAD",
    "alembic_config",
    "current_revision",
    "diagnose",
    "downgrade",
    "ensure_schema",
    "head_revision",
    "migration_transaction",
    "run_in_one_transaction",
    "schema_is_current",
    "upgrade",
]

logger = logging.getLogger(__name__)

#: Alembic's script directory (``env.py``, ``script.py.mako``, ``versions/``), shipped in the package.
MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")

#: The last revision that an aker without atomic SQLite migrations may have applied statement by
#: statement. It and every revision before it are pure DDL, so a SQLite schema found exactly at one
#: of them while ``alembic_version`` lags behind is stamped (see the module docstring). Revisions
#: after it only ever run in one transaction: never change this when adding a revision.
NON_ATOMIC_HEAD = "0004"

#: Prefix of the copies Alembic's batch mode makes while it rebuilds a SQLite table.
TMP_PREFIX = "_alembic_tmp_"


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


@functools.cache
def _revisions() -> tuple[str, ...]:
    """Every revision of :data:`MIGRATIONS_DIR`, oldest first (the history is linear)."""
    from alembic.script import ScriptDirectory

    walked = ScriptDirectory.from_config(alembic_config()).walk_revisions()
    return tuple(reversed([script.revision for script in walked]))


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# --- one transaction per upgrade ---------------------------------------------------------------


def _sqlite_in_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:") or "mode=memory" in database


def _on_migration_connect(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy's pysqlite recipe, part 1: no implicit BEGIN/COMMIT from the driver (whose legacy
    # handling leaves DDL outside any transaction). Foreign keys off as SQLite's table-rebuild
    # procedure prescribes; it can only change outside a transaction, so here. Runs after
    # create_engine_from_url's own "connect" hook (busy timeout, WAL).
    dbapi_conn.isolation_level = None
    dbapi_conn.execute("PRAGMA foreign_keys=OFF")


def _on_migration_begin(conn: Connection) -> None:
    # The recipe, part 2: SQLAlchemy's begin becomes a real BEGIN. IMMEDIATE takes the write lock
    # up front (waiting up to the busy timeout), so checking the revision and migrating cannot
    # interleave with another writer.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def _raw_sqlite_transaction(engine: Engine) -> Iterator[Connection]:
    """The same recipe applied by hand to one connection of ``engine`` (an in-memory database,
    where a second engine would be another database); the connection is restored afterwards."""
    with engine.connect() as conn:
        raw = cast(Any, conn.connection.dbapi_connection)
        saved = raw.isolation_level
        foreign_keys = raw.execute("PRAGMA foreign_keys").fetchone()[0]
        raw.isolation_level = None
        try:
            raw.execute("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            raw.execute(f"PRAGMA foreign_keys={int(foreign_keys)}")
            raw.isolation_level = saved


@contextmanager
def migration_transaction(engine: Engine) -> Iterator[Callable[[], AbstractContextManager[Connection]]]:
    """Yield a function that opens a real transaction for migrating ``engine``'s database.

    Each call of the function is a context manager giving a connection inside one transaction
    that commits when the block ends and rolls back (DDL included) when it raises. SQLite (pysqlite)
    gets a dedicated engine with the transactional-DDL recipe described in the module docstring;
    other backends use ``engine.begin()``.
    """
    url = engine.url
    if url.get_backend_name() != "sqlite" or engine.dialect.driver != "pysqlite":
        yield engine.begin
        return
    if _sqlite_in_memory(url):
        yield lambda: _raw_sqlite_transaction(engine)
        return
    from sqlalchemy.pool import NullPool

    from aker_data.engine import create_engine_from_url

    migrating = create_engine_from_url(url, poolclass=NullPool)
    event.listen(migrating, "connect", _on_migration_connect)
    event.listen(migrating, "begin", _on_migration_begin)
    try:
        yield migrating.begin
    finally:
        migrating.dispose()


def _foreign_key_violations(conn: Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in conn.exec_driver_sql("PRAGMA foreign_key_check"):
        counts[row[0]] = counts.get(row[0], 0) + 1
    return counts


def run_in_one_transaction(engine: Engine, run: Callable[[Connection], None]) -> None:
    """Run ``run(connection)`` (Alembic commands) on ``engine``'s database in one transaction.

    Before ``run``, and once more after ``run`` failed, the database is checked for a half-migrated
    state (:func:`diagnose`): a safe repair is made in the same transaction as the migration, and
    anything else raises :class:`SchemaOutOfDateError`. A failure with nothing found re-raises
    the original error. Nothing is committed unless all of it succeeds.
    """
    with migration_transaction(engine) as begin:
        sqlite = engine.url.get_backend_name() == "sqlite"
        try:
            with begin() as conn:
                diagnose(conn, engine.url, thorough=False)
                _run_checked(conn, run, sqlite=sqlite)
            return
        except (SchemaOutOfDateError, DatabaseConnectionError):
            raise
        except Exception as error:
            failure = error
        with begin() as conn:
            if not diagnose(conn, engine.url, thorough=True, failure=failure).repaired:
                found_nothing = True
            else:
                found_nothing = False
                _run_checked(conn, run, sqlite=sqlite)
        if found_nothing:
            raise failure


def _run_checked(conn: Connection, run: Callable[[Connection], None], *, sqlite: bool) -> None:
    before = _foreign_key_violations(conn) if sqlite else {}
    run(conn)
    if sqlite:
        after = _foreign_key_violations(conn)
        broken = {table: n for table, n in after.items() if n > before.get(table, 0)}
        if broken:
            tables = ", ".join(f"{table} ({n} rows)" for table, n in sorted(broken.items()))
            raise SchemaOutOfDateError(
                f"the migration would leave rows violating foreign keys in {tables}; nothing was changed"
            )


def _alembic_command(engine: Engine, action: str, revision: str) -> None:
    from alembic import command

    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)

    run_in_one_transaction(engine, run)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``engine``'s database, all in one transaction.

    Raises:
        SchemaOutOfDateError: the database is half-migrated in a way aker cannot repair safely, or
            at a revision this code does not know; the message says what to do.
    """
    _alembic_command(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Revert migrations down to ``revision`` on ``engine``'s database, all in one transaction."""
    _alembic_command(engine, "downgrade", revision)


# --- half-migrated databases --------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """A SQLite table's structure as its pragmas report it (independent of the CREATE text)."""

    columns: tuple[tuple[str, str, bool, str | None, int], ...]
    indexes: frozenset[tuple[str, bool, tuple[str, ...]]]
    foreign_keys: frozenset[tuple[str, str, str, str, str]]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_tables(conn: Connection) -> dict[str, _Table]:
    """Every table of the main database except SQLite's own, by name."""
    names = [
        row[0]
        for row in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    ]
    tables = {}
    for name in names:
        q = _quote(name)
        columns = tuple(
            (row[1], str(row[2]).upper(), bool(row[3]), row[4], int(row[5]))
            for row in conn.exec_driver_sql(f"PRAGMA main.table_info({q})")
        )
        indexes = set()
        for row in conn.exec_driver_sql(f"PRAGMA main.index_list({q})").fetchall():
            index, unique, origin = row[1], bool(row[2]), row[3]
            cols = tuple(r[2] for r in conn.exec_driver_sql(f"PRAGMA main.index_info({_quote(index)})"))
            # Indexes of UNIQUE/PRIMARY KEY constraints are named by SQLite: key them by kind.
            indexes.add((index if origin == "c" else origin, unique, cols))
        foreign_keys = frozenset(
            (row[2], row[3], row[4], row[5], row[6])
            for row in conn.exec_driver_sql(f"PRAGMA main.foreign_key_list({q})")
        )
        tables[name] = _Table(columns, frozenset(indexes), foreign_keys)
    return tables


@functools.cache
def _reference_schemas() -> tuple[tuple[str | None, Mapping[str, _Table]], ...]:
    """The SQLite schema a clean migration produces at each revision (``None``: empty), oldest first.

    Built once per process by running each revision's ``upgrade()`` on an in-memory database --
    directly, not through an Alembic command, so that it also works inside ``env.py``.
    """
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    scripts = ScriptDirectory.from_config(alembic_config())
    engine = create_engine("sqlite://", poolclass=StaticPool)
    opts = {"transactional_ddl": True}  # as it is here (and so Alembic's log says)
    schemas: list[tuple[str | None, Mapping[str, _Table]]] = [(None, {})]
    try:
        with _raw_sqlite_transaction(engine) as conn, Operations.context(MigrationContext.configure(conn, opts=opts)):
            for revision in _revisions():
                script = scripts.get_revision(revision)
                assert script is not None
                script.module.upgrade()
                schemas.append((revision, _sqlite_tables(conn)))
    finally:
        engine.dispose()
    return tuple(schemas)


def _aker_tables() -> frozenset[str]:
    """Every table name some revision creates (``alembic_version`` aside)."""
    return frozenset(name for _rev, tables in _reference_schemas() for name in tables)


def _version(conn: Connection, table_names: set[str]) -> str | None:
    if "alembic_version" not in table_names:
        return None
    rows = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    if len(rows) > 1:
        raise SchemaOutOfDateError(
            f"alembic_version holds {len(rows)} revisions ({', '.join(rows)}); aker has one head"
        )
    return rows[0] if rows else None


def _describe_index(key: tuple[str, bool, tuple[str, ...]]) -> str:
    name, unique, cols = key
    kind = {"u": "unique constraint", "pk": "primary key"}.get(name)
    return f"{kind} ({', '.join(cols)})" if kind else f"{'unique ' if unique else ''}index {name}"


def _differences(actual: Mapping[str, _Table], expected: Mapping[str, _Table], revision: str | None) -> list[str]:
    at = f"revision {revision}" if revision else "an empty database"
    found: list[str] = []
    for name in sorted(expected.keys() - actual.keys()):
        found.append(f"table {name} is missing")
    for name in sorted(actual.keys() - expected.keys()):
        found.append(f"table {name} exists, which {at} does not have")
    for name in sorted(actual.keys() & expected.keys()):
        have, want = actual[name], expected[name]
        have_cols, want_cols = {c[0]: c for c in have.columns}, {c[0]: c for c in want.columns}
        if extra := [c for c in have_cols if c not in want_cols]:
            found.append(f"table {name} has column(s) {', '.join(extra)}, which {at} does not have")
        if missing := [c for c in want_cols if c not in have_cols]:
            found.append(f"table {name} lacks column(s) {', '.join(missing)}")
        if changed := [c for c in have_cols if c in want_cols and have_cols[c] != want_cols[c]]:
            found.append(f"table {name} has column(s) {', '.join(changed)} defined otherwise than at {at}")
        if not extra and not missing and not changed and have.columns != want.columns:
            found.append(f"table {name} has its columns in another order")
        for key in sorted(want.indexes - have.indexes):
            found.append(f"table {name} lacks {_describe_index(key)}")
        for key in sorted(have.indexes - want.indexes):
            found.append(f"table {name} has {_describe_index(key)}, which {at} does not have")
        if have.foreign_keys != want.foreign_keys:
            found.append(f"table {name} has other foreign keys than at {at}")
    return found


@dataclass
class Diagnosis:
    """What :func:`diagnose` found and repaired (``repaired`` empty: nothing was wrong)."""

    repaired: list[str] = field(default_factory=list)


def _sqlite_path(url: URL) -> str | None:
    if url.get_backend_name() != "sqlite" or _sqlite_in_memory(url):
        return None
    database = str(url.database)
    return database.removeprefix("file:").split("?")[0]


def _rm_command(path: str) -> str:
    """The shell command deleting a SQLite database with its WAL files (a stale WAL must not stay)."""
    return "rm -f " + " ".join(shlex.quote(p) for p in (path, f"{path}-wal", f"{path}-shm"))


def _what_to_do(url: URL) -> str:
    """The commands that get a database nobody can migrate safely working again."""
    path = _sqlite_path(url)
    if path is not None:
        return (
            f"aker cannot repair this without risk. The file holds run records, lineage and published scores "
            f"(and what `python -m aker_core.sample load` put there), not the cache, which is intact: "
            f"delete it with `{_rm_command(path)}` and rerun -- the next run creates the schema again and "
            f"republishes the cached scores -- or restore it from a backup"
        )
    return (
        "aker cannot repair this without risk: restore the database from a backup, or bring its schema "
        "to the revision alembic_version names by hand and then run `aker db upgrade`"
    )


def diagnose(conn: Connection, url: URL, *, thorough: bool = True, failure: BaseException | None = None) -> Diagnosis:
    """Check the database on ``conn`` for a half-migrated schema; repair what is safe, on ``conn``.

    ``thorough=False`` is the cheap check made before every migration: only a leftover
    ``_alembic_tmp_*`` table, aker tables without a revision, or an unknown revision lead on to the
    full check. On SQLite the full check compares the schema with a clean migration to each
    revision (see the module docstring for what is repaired); elsewhere it reports what it finds.

    Args:
        conn: a connection inside the migration's transaction (repairs commit with it).
        url: the database's URL, for messages (shown without its password).
        thorough: compare the whole schema even when nothing looks wrong (after a failed migration).
        failure: the error of a failed migration, quoted in the message.

    Raises:
        SchemaOutOfDateError: a half-migrated schema that cannot be repaired safely, or a revision
            this code does not know.
    """
    from sqlalchemy import inspect

    names = set(inspect(conn).get_table_names())
    version = _version(conn, names)
    tmp = sorted(name for name in names if name.startswith(TMP_PREFIX))
    unknown = version is not None and version not in _revisions()
    if not (thorough or tmp or unknown or (version is None and names - {"alembic_version"})):
        return Diagnosis()  # the usual case, decided without building the reference schemas
    shown = mask_dsn(url)
    if unknown:
        known = _revisions()[-1]
        path = _sqlite_path(url)
        alternative = f", or delete it (`{_rm_command(path)}`) and rerun" if path else ""
        raise SchemaOutOfDateError(
            f"database {shown} is at revision {version}, which this aker does not know (its newest is {known}): "
            f"a newer aker migrated it; use that aker with this database, or set AKER_POSTGIS_DSN to another "
            f"database{alternative}"
        )
    aker_tables = _aker_tables()
    unversioned = version is None and bool(names & aker_tables)
    if not (thorough or tmp or unversioned):
        return Diagnosis()
    cause = ""
    if failure is not None:
        quoted = " ".join(str(getattr(failure, "orig", None) or failure).split())[:300]
        cause = f" (the migration failed with: {quoted})"
    if url.get_backend_name() != "sqlite":
        return _diagnose_other(conn, shown, version, tmp, sorted(names & aker_tables) if unversioned else [], cause)

    tables = _sqlite_tables(conn)
    tables.pop("alembic_version", None)
    actual = {name: table for name, table in tables.items() if name in aker_tables}
    schemas = dict(_reference_schemas())
    order = [rev for rev, _tables in _reference_schemas()]
    diagnosis = Diagnosis()

    def drop(name: str, why: str) -> None:
        conn.exec_driver_sql(f"DROP TABLE {_quote(name)}")
        diagnosis.repaired.append(f"dropped {name} ({why})")

    if actual == schemas[version]:
        for name in tmp:
            original = name.removeprefix(TMP_PREFIX)
            intact = f"; {original} is intact" if original in names else ""
            drop(name, f"a leftover copy of an interrupted batch migration{intact}")
    elif (later := _later_match(actual, schemas, order, version)) is not None:
        for name in tmp:
            drop(name, "a leftover copy of an interrupted batch migration")
        _stamp(conn, version, later)
        diagnosis.repaired.append(
            f"set alembic_version from {version or 'nothing'} to {later}: the schema was exactly revision {later}'s "
            f"(an interrupted migration whose DDL had committed but not its version update)"
        )
    elif version is None and _interrupted_first_migration(conn, actual, schemas[order[1]]):
        for name in sorted(actual):
            drop(name, f"an empty table of an interrupted first migration to {order[1]}")
        for name in tmp:
            drop(name, "a leftover copy of an interrupted batch migration")
    else:
        found = _differences(actual, schemas[version], version)
        said = f"alembic_version says {version}, but"
        if version is None:
            # No revision to compare with: describe the tables against the nearest revision's.
            nearest = min(order[1:], key=lambda rev: len(_differences(actual, schemas[rev], rev)))
            found = _differences(actual, schemas[nearest], nearest)
            said = f"alembic_version says nothing (no revision) and its tables are no revision's; against {nearest}'s"
        found += [f"leftover table {name} exists" for name in tmp]
        if not found:
            return diagnosis  # the schema is what alembic_version says: the failure was something else
        listed = "; ".join(found[:6]) + ("; ..." if len(found) > 6 else "")
        raise SchemaOutOfDateError(
            f"database {shown} is half-migrated: {said} {listed} -- left by an interrupted migration of an older "
            f"aker or by a change made by hand{cause}. {_what_to_do(url)}"
        )
    for done in diagnosis.repaired:
        logger.warning("database %s was half-migrated: %s", shown, done)
    return diagnosis


def _later_match(
    actual: Mapping[str, _Table],
    schemas: Mapping[str | None, Mapping[str, _Table]],
    order: list[str | None],
    version: str | None,
) -> str | None:
    """The revision after ``version``, at most :data:`NON_ATOMIC_HEAD`, whose schema ``actual`` is."""
    if version is not None and version not in order:
        return None
    for revision in order[order.index(version) + 1 :]:
        if revision is None or revision not in order[: order.index(NON_ATOMIC_HEAD) + 1]:
            return None
        if actual == schemas[revision]:
            return revision
    return None


def _interrupted_first_migration(conn: Connection, actual: Mapping[str, _Table], first: Mapping[str, _Table]) -> bool:
    """Whether ``actual`` is part of the first revision's schema (every table as it creates it, with
    some of its indexes) and every one of those tables is empty."""
    for name, table in actual.items():
        want = first.get(name)
        if want is None or table.columns != want.columns or table.foreign_keys != want.foreign_keys:
            return False
        if not table.indexes <= want.indexes:
            return False
    return not any(conn.exec_driver_sql(f"SELECT 1 FROM {_quote(name)} LIMIT 1").first() for name in actual)


def _stamp(conn: Connection, old: str | None, new: str) -> None:
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS alembic_version ("
        "version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )
    if old is None:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:new)"), {"new": new})
    else:
        conn.execute(
            text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"), {"new": new, "old": old}
        )


def _diagnose_other(
    conn: Connection, shown: str, version: str | None, tmp: list[str], unversioned: list[str], cause: str
) -> Diagnosis:
    """PostgreSQL (and other backends with transactional DDL): report, never repair.

    Alembic's batch mode makes no table copies there and every migration is one transaction, so
    these states come from outside aker.
    """
    if tmp:
        drops = "; ".join(f'DROP TABLE "{name}"' for name in tmp)
        raise SchemaOutOfDateError(
            f"database {shown} holds {', '.join(tmp)}, a table copy an interrupted SQLite-style batch migration "
            f"leaves (alembic_version says {version or 'nothing'}){cause}. If the original tables are intact, run "
            f"`{drops}` and then `aker db upgrade`; otherwise restore the database from a backup"
        )
    if unversioned:
        raise SchemaOutOfDateError(
            f"database {shown} has aker's tables ({', '.join(unversioned)}) but no alembic_version revision{cause}: "
            f"they were not made by `aker db upgrade`. If they are exactly revision R's, run "
            f"`alembic -x url=<this database> stamp R` and then `aker db upgrade`; if they hold nothing, drop them "
            f"and run `aker db upgrade`"
        )
    return Diagnosis()


#: The head revision this code expects (a test checks it equals the head of :data:`MIGRATIONS_DIR`).
#: Checking a database against it needs one SELECT and no Alembic import.
HEAD = "0006"


def schema_is_current(engine: Engine) -> bool:
    """Whether the database's ``alembic_version`` is :data:`HEAD` (False for an empty database)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    except SQLAlchemyError:
        return False


def ensure_schema(engine: Engine, *, auto_upgrade: bool = False) -> None:
    """Make sure the database is at head, upgrading it if ``auto_upgrade`` is set.

    Concurrent callers on one SQLite file (Luigi worker processes) serialise on an advisory
    ``flock`` beside the file and re-check after acquiring it, so exactly one migrates; the
    upgrade itself is one transaction (see the module docstring), so a process killed while
    migrating leaves the database at its old revision.

    Raises:
        SchemaOutOfDateError: the schema is behind and ``auto_upgrade`` is off, at a revision this
            code does not know, or half-migrated beyond a safe repair.
    """
    if schema_is_current(engine):
        return
    head = head_revision()
    if not auto_upgrade:
        current = current_revision(engine)
        if current is not None and current not in _revisions():
            raise SchemaOutOfDateError(
                f"database {mask_dsn(engine.url)} is at revision {current}, which this aker does not know (its "
                f"newest is {head}): a newer aker migrated it; use that aker with this database"
            )
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
    if engine.url.get_backend_name() != "sqlite" or not database or _sqlite_in_memory(engine.url):
        yield
        return
    with open(f"{database}.migrate.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
