"""Alembic migrations: one head, upgrade/downgrade both ways, no drift from the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from aker_data.engine import create_engine_from_url
from aker_data.migrate import (
    HEAD,
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
