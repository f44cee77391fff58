"""Helpers for running the Luigi graph in tests: source and database fixtures, row counts.

``build`` and ``BuildFailed`` are aker_tasks.testing's (re-exported for the test modules).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from aker_data.engine import create_engine_from_url
from aker_data.models import Lineage, PillarScore, Run
from aker_tasks.testing import BuildFailed, build

__all__ = ["BuildFailed", "build", "db_counts", "families", "runs_by_family"]


def families(task_ids: Iterable[str]) -> list[str]:
    """Sorted 'Family(param)' short forms of task ids, for readable assertions."""
    return sorted(t.split("_")[0] for t in task_ids)


@pytest.fixture
def source_dir(aker_source: Path) -> Path:
    """A writable copy of the bundled sample, configured as AKER_SOURCE_URI."""
    return aker_source


@pytest.fixture
def run_db(aker_database: str) -> str:
    """The test database (both backends) migrated and configured as AKER_POSTGIS_DSN."""
    return aker_database


def db_counts(url: str) -> dict[str, int]:
    """Row counts of runs, lineage and pillar_scores."""
    engine = create_engine_from_url(url)
    with sessionmaker(bind=engine)() as s:
        counts = {
            m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0 for m in (Run, Lineage, PillarScore)
        }
    engine.dispose()
    return counts


def runs_by_family(url: str) -> list[tuple[str, str]]:
    """(task_family, status) of every recorded run, sorted."""
    engine = create_engine_from_url(url)
    with Session(engine) as s:
        rows = s.execute(select(Run.task_family, Run.status)).all()
    engine.dispose()
    return sorted((str(f), str(st)) for f, st in rows)
