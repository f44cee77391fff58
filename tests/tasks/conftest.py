"""Helpers for running the Luigi graph in tests: one build helper, source fixtures, row counts."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import luigi
import luigi.execution_summary
import pytest
from luigi.task_register import Register
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from aker_core.config import reset_settings
from aker_data.engine import create_engine_from_url, dispose_engines
from aker_data.models import Lineage, PillarScore, Run

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "aker_core" / "sample" / "data"


class BuildFailed(AssertionError):
    """luigi.build did not end in SUCCESS."""


def _reset_process_caches() -> None:
    # One luigi invocation is one process in real use; tests run many in one process.
    Register.clear_instance_cache()
    reset_settings()
    from aker_tasks import database, fetch, hashing

    database._checked.cache_clear()
    fetch._db_table.cache_clear()
    hashing.code_version.cache_clear()
    dispose_engines()


def build(
    tasks: Iterable[luigi.Task] | luigi.Task, *, workers: int = 1, expect_success: bool = True
) -> dict[str, set[str]]:
    """Run tasks like `luigi` does and return {status: task ids}; raise unless SUCCESS (by default)."""
    _reset_process_caches()
    task_list = [tasks] if isinstance(tasks, luigi.Task) else list(tasks)
    result = luigi.build(task_list, local_scheduler=True, detailed_summary=True, workers=workers, log_level="WARNING")
    ok = result.status in (luigi.LuigiStatusCode.SUCCESS, luigi.LuigiStatusCode.SUCCESS_WITH_RETRY)
    if ok != expect_success:
        raise BuildFailed(f"luigi.build ended {result.status}:\n{result.summary_text}")
    summary = luigi.execution_summary._summary_dict(result.worker)
    return {status: {t.task_id for t in found} for status, found in summary.items()}


def families(task_ids: Iterable[str]) -> list[str]:
    """Sorted 'Family(param)' short forms of task ids, for readable assertions."""
    return sorted(t.split("_")[0] for t in task_ids)


@pytest.fixture
def source_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the bundled sample, configured as AKER_SOURCE_URI."""
    dest = tmp_path / "source"
    shutil.copytree(SAMPLE_DIR, dest)
    monkeypatch.setenv("AKER_SOURCE_URI", str(dest))
    return dest


@pytest.fixture
def run_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test database configured as AKER_POSTGIS_DSN (migrated by the tasks or the test)."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", db_url)
    from aker_data.migrate import upgrade

    engine = create_engine_from_url(db_url)
    upgrade(engine)
    engine.dispose()
    return db_url


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
