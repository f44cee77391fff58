"""Crash-safe schema changes (#11): a migration killed at any point leaves the old or the new revision.

* ``kill -9`` loops: a child process migrates (``aker_data.migrate.upgrade`` or ``alembic upgrade
  head``) from an empty database and from revision 0001 with rows in it, and is SIGKILLed before a
  statement chosen at random (stratified over the whole migration, with a random extra delay).
  After each kill the database must be exactly at its old revision or at head -- never between --
  and a normal upgrade must then bring it to a schema identical to a clean migration's, rows
  intact. On SQLite and on PostgreSQL (whose DDL is transactional anyway: asserted too).
* Databases half-migrated by an aker *before* atomic migrations (rebuilt here by running the
  migrations the old way -- pysqlite's legacy transaction handling, each DDL committing on its own
  -- and crashing before a chosen statement): repaired when that is safe, otherwise a
  SchemaOutOfDateError that says what happened and what to run, and the file left as it was.

The kill loops' random seed is printed and taken from ``AKER_CRASH_SEED`` when set.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from aker_data.engine import create_engine_from_url
from aker_data.exceptions import SchemaOutOfDateError
from aker_data.migrate import HEAD, alembic_config, current_revision, ensure_schema, upgrade
from tests.conftest import pg_base_dsn, require_postgres

ROOT = Path(__file__).resolve().parents[2]

# The child: count (and print) every statement before it runs, with a random pause, then migrate.
CHILD = r"""
import os, random, sys, time
from sqlalchemy import Engine, event

url, mode, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
count = 0

def before_statement(conn, cursor, statement, *args):
    global count
    count += 1
    word = statement.split(None, 1)[0].upper() if statement.strip() else "?"
    os.write(1, f"{count} {word}\n".encode())
    time.sleep(rng.uniform(0.0, 0.004))

event.listen(Engine, "before_cursor_execute", before_statement)
if mode == "cli":
    from alembic.config import main
    main(argv=["-x", f"url={url}", "upgrade", "head"], prog="alembic")
else:
    from aker_data.engine import create_engine_from_url
    from aker_data.migrate import upgrade
    upgrade(create_engine_from_url(url))
os.write(1, b"done\n")
"""

SEED_ROWS = (
    "INSERT INTO runs (run_id, git_sha, config_hash, config_json, seed, started_at, status) "
    "VALUES ('r1', 'sha', 'hash', '{}', 1, '2024-06-01 00:00:00', 'completed')",
    "INSERT INTO lineage (run_id, \"table\", source, direction) VALUES ('r1', 'pillar_scores', 'x', 'out')",
    "INSERT INTO pillar_scores (msa_id, score_as_of, weights, run_id) VALUES ('12420', '2024-06-01', '{}', 'r1')",
    "INSERT INTO pillar_scores (msa_id, score_as_of, weights, run_id) VALUES ('10180', '2024-06-01', '{}', 'r1')",
)
COUNTED = ("runs", "lineage", "pillar_scores")


def _seed() -> int:
    seed = int(os.environ.get("AKER_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"kill-loop seed: AKER_CRASH_SEED={seed}")
    return seed


# --- schema snapshots -----------------------------------------------------------------------------


def sqlite_snapshot(url: str) -> tuple[tuple[object, ...], ...]:
    """sqlite_master (type, name, table, SQL) plus alembic_version's rows, sorted."""
    engine = create_engine_from_url(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT type, name, tbl_name, sql FROM sqlite_master "
                    "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name"
                )
            ).all()
            names = {row[1] for row in rows}
            has_version = "alembic_version" in names
            version = conn.execute(text("SELECT version_num FROM alembic_version")).all() if has_version else []
    finally:
        engine.dispose()
    return tuple(tuple(row) for row in rows) + tuple(("version", row[0]) for row in version)


def pg_snapshot(url: str) -> tuple[tuple[object, ...], ...]:
    """Columns, constraints, indexes, triggers, functions and alembic_version of the URL's schema, sorted."""
    engine = create_engine_from_url(url)
    try:
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            rows = conn.execute(
                text(
                    "SELECT 'column', table_name, column_name, data_type || ':' || is_nullable || ':' "
                    "|| coalesce(character_maximum_length, 0)::text FROM information_schema.columns "
                    "WHERE table_schema = :s "
                    "UNION ALL SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                    "FROM pg_constraint WHERE connamespace = CAST(:s AS regnamespace) "
                    "UNION ALL SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :s "
                    "UNION ALL SELECT 'trigger', c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = CAST(:s AS regnamespace) "
                    "AND NOT t.tgisinternal "
                    "UNION ALL SELECT 'function', '', proname, md5(prosrc) FROM pg_proc "
                    "WHERE pronamespace = CAST(:s AS regnamespace) "
                    "ORDER BY 1, 2, 3"
                ),
                {"s": schema},
            ).all()
            has_version = any(row[1] == "alembic_version" for row in rows)
            version = conn.execute(text("SELECT version_num FROM alembic_version")).all() if has_version else []
    finally:
        engine.dispose()
    strip = f"{schema}."
    return tuple(tuple(str(v).replace(strip, "") for v in row) for row in rows) + tuple(
        ("version", row[0]) for row in version
    )


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine_from_url(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}
    finally:
        engine.dispose()


def migrate_to(url: str, revision: str | None, *, rows: bool = False) -> None:
    """Bring a fresh database to ``revision`` (``None``: leave it empty), with rows if asked."""
    if revision is None:
        return
    engine = create_engine_from_url(url)
    try:
        upgrade(engine, revision)
        if rows:
            with engine.begin() as conn:
                for statement in SEED_ROWS:
                    conn.execute(text(statement))
    finally:
        engine.dispose()


# --- the child and its kill -------------------------------------------------------------------------


WRITES = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")


def run_child(url: str, mode: str, seed: int, kill_before: int, rng: random.Random) -> tuple[int, list[str], str]:
    """Run the migrating child; SIGKILL it (after a random 0-3 ms) once it announces statement ``kill_before``.

    Returns the exit status, the statements it announced (``"<n> <verb>"``, the last one the
    statement it was about to run or running when killed) and its stderr.
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, url, mode, str(seed)], cwd=ROOT, stdout=subprocess.PIPE, stderr=err
        )
        assert proc.stdout is not None
        announced: list[str] = []
        for raw in proc.stdout:
            announced.append(raw.decode().strip())
            if announced[-1] == "done":
                break
            if int(announced[-1].split()[0]) >= kill_before:
                time.sleep(rng.uniform(0.0, 0.003))
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.stdout.close()
        status = proc.wait(timeout=120)
        err.seek(0)
        return status, announced, err.read().decode(errors="replace")


def count_statements(url: str, mode: str) -> tuple[int, int]:
    """How many statements the child runs to migrate ``url`` (which it migrates) to head, and the
    number of the first one that writes."""
    proc = subprocess.run([sys.executable, "-c", CHILD, url, mode, "0"], cwd=ROOT, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    lines = [line.split() for line in proc.stdout.decode().splitlines() if line != "done"]
    return int(lines[-1][0]), min(int(n) for n, verb in lines if verb in WRITES)


def kill_points(total: int, first_write: int, kills: int, rng: random.Random) -> list[int]:
    """Where to kill: once at random before the first write has run, the other ``kills - 1`` times
    at random in equal stretches of the rest (after some DDL ran: mid-migration)."""
    edges = [first_write + 1 + ((total - first_write) * i) // (kills - 1) for i in range(kills)]
    mid = [rng.randint(lo, max(lo, hi - 1)) for lo, hi in itertools.pairwise(edges)]
    return [rng.randint(1, first_write), *mid]


def kill_loop(
    new_url: Callable[[], str],
    snapshot: Callable[[str], tuple[tuple[object, ...], ...]],
    plan: list[tuple[str, str | None, int]],
    tmp_prefix_absent: Callable[[str], bool],
) -> list[str]:
    """Kill migrations as ``plan`` says ((mode, start revision, kills), ...) and check each outcome."""
    seed = _seed()
    rng = random.Random(seed)
    clean: dict[str | None, tuple[tuple[object, ...], ...]] = {}
    for revision in {start for _mode, start, _n in plan} | {HEAD}:
        url = new_url()
        migrate_to(url, revision)
        clean[revision] = snapshot(url)
    report = []
    for mode, start, kills in plan:
        url = new_url()
        migrate_to(url, start, rows=start is not None)
        total, first_write = count_statements(url, mode)
        for target in kill_points(total, first_write, kills, rng):
            url = new_url()
            migrate_to(url, start, rows=start is not None)
            rows_before = row_counts(url) if start is not None else None
            status, announced, err = run_child(url, mode, rng.randrange(2**32), target, rng)
            last = announced[-1] if announced else "nothing"
            where = f"seed {seed}, {mode} from {start or 'empty'}, killed before statement {target}/{total} ({last})"
            assert status == -signal.SIGKILL, f"{where}: the child was not killed (exit {status}): {err[-2000:]}"
            state = snapshot(url)
            # Atomic: the old revision or head, nothing in between.
            assert state in (clean[start], clean[HEAD]), f"{where}: the database is between revisions: {state}"
            outcome = "old revision" if state == clean[start] else "head"
            assert tmp_prefix_absent(url), where
            engine = create_engine_from_url(url)
            try:
                upgrade(engine)
                assert current_revision(engine) == HEAD, where
            finally:
                engine.dispose()
            assert snapshot(url) == clean[HEAD], f"{where}: schema differs from a clean migration"
            assert tmp_prefix_absent(url), where
            if rows_before is not None:
                assert row_counts(url) == rows_before, f"{where}: rows lost"
            # Mid-migration: some DDL of the migration had run in the (uncommitted) transaction.
            mid = any(line.split()[1] in WRITES for line in announced[:-1])
            report.append(
                f"{mode} from {start or 'empty'}: killed at {last} ({target}/{total}, "
                f"{'mid-migration' if mid else 'before any DDL'}) -> {outcome}"
            )
    print("\n".join(report))
    return report


def sqlite_has_no_tmp(url: str) -> bool:
    return not any(str(row[1]).startswith("_alembic_tmp_") for row in sqlite_snapshot(url) if row[0] != "version")


@pytest.mark.slow
def test_sqlite_migration_killed_at_random_points(tmp_path: Path) -> None:
    """>= 12 SIGKILLs during SQLite upgrades (API and CLI, from empty and from 0001 with rows)."""
    counter = iter(range(10_000))

    def new_url() -> str:
        return f"sqlite:///{tmp_path / f'db{next(counter)}' / 'aker.db'}"

    report = kill_loop(
        new_url,
        sqlite_snapshot,
        [("api", None, 6), ("api", "0001", 5), ("cli", None, 2), ("cli", "0001", 2)],
        sqlite_has_no_tmp,
    )
    assert len(report) >= 12
    assert sum("mid-migration" in line for line in report) >= 8, "too few kills landed inside the migration"


@contextmanager
def pg_schemas() -> Iterator[Callable[[], str]]:
    """A factory of URLs of fresh private PostgreSQL schemas, all dropped afterwards."""
    require_postgres()
    admin = create_engine_from_url(pg_base_dsn())
    made: list[str] = []

    def new_url() -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        url = make_url(pg_base_dsn()).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    try:
        yield new_url
    finally:
        with admin.begin() as conn:
            for schema in made:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_migration_killed_at_random_points() -> None:
    """>= 8 SIGKILLs during PostgreSQL upgrades: its DDL is transactional, so old revision or head."""
    with pg_schemas() as new_url:
        report = kill_loop(
            new_url,
            pg_snapshot,
            [("api", None, 5), ("api", "0001", 4)],
            lambda url: not any("_alembic_tmp_" in str(row) for row in pg_snapshot(url)),
        )
    assert len(report) >= 8
    assert sum("mid-migration" in line for line in report) >= 5, "too few kills landed inside the migration"


# --- databases half-migrated by an older aker -------------------------------------------------------


class Crash(Exception):
    """Stands for the kill: raised before a chosen statement of a legacy migration."""


def legacy_upgrade(url: str, crash_before: Callable[[str], bool] | None = None, revision: str = "head") -> bool:
    """Migrate as aker did before #11 (pysqlite's legacy transactions: each DDL commits on its own),
    crashing before the first statement ``crash_before`` accepts. True when it crashed.

    An exception there, repeated for every later statement, leaves exactly what a kill at that
    point left: the DDL that autocommitted stays, the open transaction (begun by the first
    INSERT/UPDATE) rolls back.
    """
    engine = create_engine_from_url(url)
    crashed = [False]

    def before(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        # After the "kill" nothing runs any more: not even Alembic's clean-up of a failed batch
        # copy (which a real kill never reaches).
        if crashed[0] or (crash_before is not None and crash_before(" ".join(statement.split()))):
            crashed[0] = True
            raise Crash(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return False
    except Crash:
        return True
    finally:
        engine.dispose()


def legacy_statements(start: str | None) -> list[str]:
    """The statements a legacy upgrade from ``start`` to head runs, in order."""
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'a.db'}"
    try:
        if start is not None:
            legacy_upgrade(url, revision=start)
        seen: list[str] = []

        def record(statement: str) -> bool:
            seen.append(statement)
            return False

        legacy_upgrade(url, record)
        return seen
    finally:
        shutil.rmtree(Path(make_url(url).database or "").parent, ignore_errors=True)


def nth(predicate: Callable[[str], bool], n: int = 1) -> Callable[[str], bool]:
    """A crash_before that fires at the n-th statement ``predicate`` accepts."""
    seen = [0]

    def fire(statement: str) -> bool:
        if predicate(statement):
            seen[0] += 1
        return seen[0] == n and predicate(statement)

    return fire


def _clean_head(tmp_path: Path) -> tuple[tuple[object, ...], ...]:
    url = f"sqlite:///{tmp_path / 'clean' / 'aker.db'}"
    migrate_to(url, HEAD)
    return sqlite_snapshot(url)


@pytest.mark.parametrize(
    ("start", "crash_before", "repair"),
    [
        # The first migration stopped after some CREATEs: the tables are empty, dropped.
        (None, nth(lambda s: s.startswith("CREATE TABLE lineage")), "dropped runs"),
        # ... after all of 0001's DDL, before its version row: exactly revision 0001, stamped.
        (None, nth(lambda s: s.startswith("INSERT INTO alembic_version")), "from nothing to 0001"),
        # 0002's batch copy of pillar_scores stopped after CREATE TABLE _alembic_tmp_pillar_scores.
        ("0001", nth(lambda s: s.startswith("INSERT INTO _alembic_tmp_pillar_scores")), "dropped _alembic_tmp_"),
        # 0003's DROP INDEX committed, its version update did not: exactly revision 0003, stamped.
        ("0002", nth(lambda s: s.startswith("UPDATE alembic_version")), "from 0002 to 0003"),
    ],
    ids=["partial-0001", "unversioned-0001", "tmp-table", "version-behind"],
)
def test_half_migrated_by_older_aker_is_repaired(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    start: str | None,
    crash_before: Callable[[str], bool],
    repair: str,
) -> None:
    """What a kill during an older aker's migration left is repaired in the upgrade's transaction."""
    url = f"sqlite:///{tmp_path / 'db' / 'aker.db'}"
    if start is not None:
        legacy_upgrade(url, revision=start)
        engine = create_engine_from_url(url)
        with engine.begin() as conn:
            for statement in SEED_ROWS:
                conn.execute(text(statement))
        engine.dispose()
    assert legacy_upgrade(url, crash_before)
    rows = row_counts(url) if start is not None else None
    engine = create_engine_from_url(url)
    try:
        # Without the repair, this is the wedge #11 reports (e.g. `table runs already exists`).
        with pytest.raises(Exception, match=r"already exists|no such index"):
            legacy_upgrade(url)
        with caplog.at_level("WARNING", logger="aker_data.migrate"):
            ensure_schema(engine, auto_upgrade=True)
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()
    assert repair in caplog.text
    assert sqlite_snapshot(url) == _clean_head(tmp_path)
    if rows is not None:
        assert row_counts(url) == rows


def test_half_migrated_beyond_safe_repair_says_what_to_run(tmp_path: Path) -> None:
    """0004 stopped after its first ADD COLUMN: no clean revision has that schema -> a clear error, file untouched."""
    url = f"sqlite:///{tmp_path / 'cache' / 'aker.db'}"
    legacy_upgrade(url, revision="0003")
    assert legacy_upgrade(url, nth(lambda s: s.startswith("ALTER TABLE runs ADD COLUMN"), 2))
    before = sqlite_snapshot(url)
    engine = create_engine_from_url(url)
    try:
        with pytest.raises(SchemaOutOfDateError) as raised:
            ensure_schema(engine, auto_upgrade=True)
    finally:
        engine.dispose()
    message = str(raised.value)
    path = str(tmp_path / "cache" / "aker.db")
    assert "half-migrated" in message and "alembic_version says 0003" in message
    assert "table runs has column(s) process_token" in message
    assert f"rm -f {path} {path}-wal {path}-shm" in message
    assert "the cache" in message and "restore it from a backup" in message
    assert "\n" not in message
    assert sqlite_snapshot(url) == before
    # The alembic command says the same in one line, without a traceback.
    proc = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url={url}", "upgrade", "head"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "FAILED: database sqlite:///" in output and "half-migrated" in output
    assert "Traceback" not in output
    assert sqlite_snapshot(url) == before


def test_unversioned_tables_with_rows_are_kept(tmp_path: Path) -> None:
    """aker's tables without alembic_version but with rows are never dropped: exactly revision 0001's
    schema is stamped and upgraded (rows intact); a part of it is an error."""
    for broken in ("exact", "partial"):
        url = f"sqlite:///{tmp_path / broken / 'aker.db'}"
        migrate_to(url, "0001", rows=True)
        engine = create_engine_from_url(url)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))
            if broken == "partial":
                conn.execute(text("DROP INDEX ix_lineage_run_id"))
        try:
            if broken == "exact":
                upgrade(engine)
                assert current_revision(engine) == HEAD
            else:
                with pytest.raises(SchemaOutOfDateError, match="alembic_version says nothing") as raised:
                    upgrade(engine)
                assert "table lineage lacks index ix_lineage_run_id" in str(raised.value)
        finally:
            engine.dispose()
        assert row_counts(url) == {"runs": 1, "lineage": 1, "pillar_scores": 2}


def test_unknown_revision_names_a_newer_aker(db_url: str) -> None:
    """A database migrated past this code's head: both ensure_schema variants say so."""
    engine = create_engine_from_url(db_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        for auto in (True, False):
            with pytest.raises(SchemaOutOfDateError, match="revision 9999, which this aker does not know"):
                ensure_schema(engine, auto_upgrade=auto)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_half_migrated_is_reported(postgres_url: str) -> None:
    """PostgreSQL is never repaired: a leftover batch copy or unversioned aker tables are errors with the command."""
    engine = create_engine_from_url(postgres_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE _alembic_tmp_pillar_scores (id integer)"))
        with pytest.raises(SchemaOutOfDateError, match='DROP TABLE "_alembic_tmp_pillar_scores"'):
            upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE _alembic_tmp_pillar_scores"))
            conn.execute(text("DROP TABLE alembic_version"))
        with pytest.raises(SchemaOutOfDateError, match=r"no alembic_version revision.*stamp"):
            upgrade(engine)
        with engine.connect() as conn:
            assert "runs" in set(conn.execute(text("SELECT tablename FROM pg_tables")).scalars())
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("start", [None, "0001", "0002", "0003"], ids=lambda s: f"from-{s or 'empty'}")
def test_every_legacy_crash_point(tmp_path: Path, start: str | None) -> None:
    """A legacy upgrade crashed before each of its writing statements in turn: every state it leaves is
    repaired to a clean head, except a partly applied revision that no clean revision matches, which
    is a SchemaOutOfDateError leaving the file as it was."""
    writes = [
        i
        for i, s in enumerate(legacy_statements(start), 1)
        if s.split(None, 1)[0] in ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")
    ]
    clean = _clean_head(tmp_path)
    outcomes: dict[str, int] = {}
    for number in writes:
        url = f"sqlite:///{tmp_path / f'db{number}' / 'aker.db'}"
        if start is not None:
            legacy_upgrade(url, revision=start)

        def crash(_statement: str, number: int = number, calls: list[int] = [0]) -> bool:  # noqa: B006
            calls[0] += 1
            return calls[0] == number

        assert legacy_upgrade(url, crash)
        before = sqlite_snapshot(url)
        engine = create_engine_from_url(url)
        try:
            upgrade(engine)
            assert sqlite_snapshot(url) == clean, f"crash before statement {number}"
            outcomes["repaired"] = outcomes.get("repaired", 0) + 1
        except SchemaOutOfDateError as e:
            assert "half-migrated" in str(e) and "rm -f" in str(e)
            assert sqlite_snapshot(url) == before
            outcomes["refused"] = outcomes.get("refused", 0) + 1
        finally:
            engine.dispose()
    print(f"from {start or 'empty'}: {len(writes)} crash points, {outcomes}")
    if start in (None, "0001", "0002"):
        # Every state an aker before #11 left while applying 0001-0003 is repaired.
        assert outcomes == {"repaired": len(writes)}
