"""Alembic migrations: one head, upgrade/downgrade both ways and atomically, no drift from the models."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, inspect, text

from aker_data.engine import create_engine_from_url
from aker_data.migrate import (
    HEAD,
    NON_ATOMIC_HEAD,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    schema_is_current,
    upgrade,
)
from aker_data.models import Base

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "runs",
    "lineage",
    "markets",
    "market_supply",
    "market_jobs",
    "market_urban",
    "market_outdoors",
    "pillar_scores",
}


def test_single_head() -> None:
    """The migration history has exactly one head, the one the code checks databases against."""
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD]


def test_schema_is_current_only_at_head(db_url: str) -> None:
    """schema_is_current is False for an empty database and True after upgrade head."""
    engine = create_engine_from_url(db_url)
    assert not schema_is_current(engine)
    upgrade(engine)
    assert schema_is_current(engine)
    engine.dispose()


def test_upgrade_then_downgrade(db_url: str) -> None:
    """upgrade head creates every table; downgrade base removes them all."""
    engine = create_engine_from_url(db_url)
    upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    assert current_revision(engine) == head_revision()
    downgrade(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_models_match_migrations(db_url: str) -> None:
    """Autogenerate finds no difference between the models and the migrated schema."""
    engine = create_engine_from_url(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == []


@pytest.mark.slow
def test_alembic_cli_uses_settings_dsn(db_url: str, tmp_path: Path) -> None:
    """`alembic upgrade head` migrates the database named by AKER_POSTGIS_DSN."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "AKER_POSTGIS_DSN": db_url,
        "AKER_CACHE_PATH": str(tmp_path / "c"),
    }
    for args in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"]):
        proc = subprocess.run(
            [sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
    engine = create_engine_from_url(db_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


class _Interrupted(Exception):
    """Raised before a chosen statement of a migration."""


@contextmanager
def _statements(before: Callable[[str], None]) -> Iterator[None]:
    """Call ``before(statement)`` ahead of every statement any engine runs (the migration's own included)."""

    def listener(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        before(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", listener)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", listener)


def test_upgrade_is_one_transaction(db_url: str) -> None:
    """An upgrade from empty that fails at its very last statement leaves no table at all, on SQLite too:
    every revision's DDL and the alembic_version row commit together or not at all."""
    engine = create_engine_from_url(db_url)

    def fail_at_last_version_update(statement: str) -> None:
        if statement.startswith("UPDATE alembic_version") and f"'{HEAD}'" in statement:
            raise _Interrupted(statement)

    try:
        with _statements(fail_at_last_version_update), pytest.raises(_Interrupted):
            upgrade(engine)
        assert set(inspect(engine).get_table_names()) == set()
        upgrade(engine)
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_keep_referencing_rows(db_url: str) -> None:
    """Stepping back to 0004 and forward again keeps lineage rows and pillar_scores.run_id.

    On SQLite a batch-mode rebuild of ``runs`` (0005's downgrade drops a column, after 0006's has
    restored pillar_scores.run_id's foreign key) drops and recreates the table: with foreign keys
    on, that deleted every lineage row (ON DELETE CASCADE) and nulled pillar_scores.run_id.
    Migrations run with foreign keys off and check them before committing.
    """
    engine = create_engine_from_url(db_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO runs (run_id, git_sha, config_hash, config_json, seed, started_at, status) "
                    "VALUES ('r1', 'sha', 'hash', '{}', 1, '2024-06-01 00:00:00', 'completed')"
                )
            )
            conn.execute(
                text("INSERT INTO lineage (run_id, \"table\", source, direction) VALUES ('r1', 't', 's', 'in')")
            )
            conn.execute(
                text(
                    "INSERT INTO pillar_scores (msa_id, score_as_of, weights, run_id) "
                    "VALUES ('1', '2024-06-01', '{}', 'r1')"
                )
            )
        downgrade(engine, "0004")
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM lineage")).scalar_one() == 1
            assert conn.execute(text("SELECT run_id FROM pillar_scores")).scalar_one() == "r1"
    finally:
        engine.dispose()


RUN_ROW = (
    "INSERT INTO runs (run_id, git_sha, config_hash, config_json, seed, started_at, status) "
    "VALUES (:r, 'sha', 'hash', '{}', 1, '2024-06-01 00:00:00', 'completed')"
)
SCORE_ROW = "INSERT INTO pillar_scores (msa_id, score_as_of, weights, run_id) VALUES (:m, '2024-06-01', '{}', :r)"


def _seed_runs_and_scores(engine: Engine, scores: dict[str, str]) -> None:
    """Runs r1..r3 and a pillar_scores row per market -> run id of ``scores``."""
    with engine.begin() as conn:
        for run_id in ("r1", "r2", "r3"):
            conn.execute(text(RUN_ROW), {"r": run_id})
        for msa_id, run_id in scores.items():
            conn.execute(text(SCORE_ROW), {"m": msa_id, "r": run_id})


def _score_runs(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(text("SELECT msa_id, run_id FROM pillar_scores"))}


def _unlink_triggers(engine: Engine) -> list[str]:
    """Names of triggers on runs other than the database's own (foreign-key triggers of PostgreSQL)."""
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'runs'"
        if engine.dialect.name == "sqlite"
        else "SELECT tgname FROM pg_trigger WHERE tgrelid = 'runs'::regclass AND NOT tgisinternal"
    )
    with engine.connect() as conn:
        return list(conn.execute(text(sql)).scalars())


def _run_id_keys(engine: Engine) -> list[dict[str, object]]:
    """pillar_scores' foreign keys, read on a new connection (a pooled SQLite connection's
    PRAGMA foreign_key_list can still show the table as it was before another connection changed it)."""
    engine.dispose()
    return inspect(engine).get_foreign_keys("pillar_scores")  # type: ignore[return-value]


def test_deleting_runs_unlinks_their_scores(db_url: str) -> None:
    """Deleting runs (by hand: aker never does) sets their scores' run_id to NULL, as ON DELETE SET NULL did."""
    engine = create_engine_from_url(db_url)
    try:
        upgrade(engine)
        _seed_runs_and_scores(engine, {"1": "r1", "2": "r1", "3": "r2", "4": "r3"})
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM runs WHERE run_id IN ('r1', 'r3')"))
        assert _score_runs(engine) == {"1": None, "2": None, "3": "r2", "4": None}
    finally:
        engine.dispose()


def test_0006_swaps_the_run_id_foreign_key_for_a_trigger_and_back(db_url: str) -> None:
    """0006 drops pillar_scores.run_id's foreign key and adds the unlinking trigger on runs; its
    downgrade restores the key and drops the trigger; rows stay as they were both ways."""
    engine = create_engine_from_url(db_url)
    try:
        upgrade(engine, "0005")
        _seed_runs_and_scores(engine, {"1": "r1", "2": "r2"})
        assert [fk["referred_table"] for fk in _run_id_keys(engine)] == ["runs"]
        upgrade(engine, "0006")
        assert _run_id_keys(engine) == []
        assert _unlink_triggers(engine) == ["tr_runs_delete_unlinks_pillar_scores"]
        assert _score_runs(engine) == {"1": "r1", "2": "r2"}
        downgrade(engine, "0005")
        (key,) = _run_id_keys(engine)
        assert (key["name"], key["referred_table"], key["options"].get("ondelete")) == (
            "fk_pillar_scores_run_id_runs",
            "runs",
            "SET NULL",
        )
        assert _unlink_triggers(engine) == []
        assert _score_runs(engine) == {"1": "r1", "2": "r2"}
    finally:
        engine.dispose()


def test_revisions_an_older_aker_applied_are_pure_ddl(sqlite_url: str) -> None:
    """Revisions up to NON_ATOMIC_HEAD write no rows (only DDL, batch copies and alembic_version).

    aker stamps a SQLite schema found exactly at one of them while alembic_version lags behind (what an
    older aker's interrupted, non-atomic migration left). That is only safe for pure DDL: a revision
    that also changes rows must come after NON_ATOMIC_HEAD.
    """
    engine = create_engine_from_url(sqlite_url)
    writes: list[str] = []

    def record(statement: str) -> None:
        if statement.partition(" ")[0] in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            writes.append(statement)

    try:
        with _statements(record):
            upgrade(engine, NON_ATOMIC_HEAD)
    finally:
        engine.dispose()
    data = [
        s
        for s in writes
        if not s.startswith(("INSERT INTO alembic_version", "UPDATE alembic_version", "INSERT INTO _alembic_tmp_"))
    ]
    assert data == []
    assert any(s.startswith("UPDATE alembic_version") for s in writes)
