"""pytest fixtures for testing aker tasks -- aker's own and the ones you write on top of it.

Enable it in the ``conftest.py`` at the root of your tests (or with ``-p aker_tasks.testing``)::

    pytest_plugins = ["aker_tasks.testing"]

Every test then runs isolated (an autouse fixture): no ``AKER_*``/``OPENLINEAGE*`` variable,
``.env`` or Luigi configuration of the developer's leaks in, no OpenLineage event leaves
(``OPENLINEAGE_DISABLED=true``), the cache is ``tmp_path / "cache"``, the working directory
``tmp_path / "work"``, and settings, Luigi's task instances and aker's per-process caches start
fresh -- as if each test were a new ``luigi`` process. Fixtures on request:

* ``aker_source`` -- a writable copy of the bundled sample, set as ``AKER_SOURCE_URI``;
* ``aker_database`` -- a migrated database set as ``AKER_POSTGIS_DSN`` (SQLite under ``tmp_path``;
  override the ``aker_database_url`` fixture to use another one);
* ``aker_configure`` -- ``aker_configure(weights={...}, seed=7)`` sets settings by field name;
* ``aker_build`` -- :func:`build`, which runs tasks like ``luigi --local-scheduler`` does.

The ini option ``aker_keep_env`` lists ``AKER_*`` variables to keep (e.g. a test database's DSN).

Example:
    .. code-block:: python

        from aker_tasks import ScoreMarkets

        def test_scores_the_sample(aker_source, aker_database, aker_build):
            done = aker_build(ScoreMarkets(as_of="2024-06-01"))
            assert any(t.startswith("PublishScores") for t in done["completed"])
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aker_core.exceptions import AkerError

if TYPE_CHECKING:
    import luigi

    from aker_core.config import Settings

__all__ = ["BuildFailed", "build", "reset_luigi_config", "reset_process_state"]


class BuildFailed(AkerError, AssertionError):
    """:func:`build` did not end the way the test expected (an assertion: pytest reports a failure)."""


def reset_process_state() -> None:
    """Forget what one process remembers between ``luigi`` runs.

    In real use one ``luigi`` invocation is one process; tests run many in one. Cleared: the
    settings, Luigi's task instance cache, the database aker checked the schema of, the source
    tables read from the database, task code versions, this process's batch metrics, database
    servers remembered as not answering and every pooled database connection.
    """
    from luigi.task_register import Register

    from aker_core.config import reset_settings
    from aker_data import engine
    from aker_tasks import database, events, hashing, vintages

    Register.clear_instance_cache()
    reset_settings()
    database._checked.cache_clear()
    vintages._db_table.cache_clear()
    hashing.code_version.cache_clear()
    events._metrics.clear()
    engine._unanswered.clear()
    engine.dispose_engines()


def reset_luigi_config() -> None:
    """Make Luigi read only aker's packaged ``luigi.cfg`` (no ``/etc/luigi``, no LUIGI_CONFIG_PATH)."""
    from luigi.configuration import LuigiConfigParser

    from aker_tasks.luigi_setup import CONFIG_PATH

    LuigiConfigParser._config_paths = [str(CONFIG_PATH)]
    LuigiConfigParser._instance = None
    LuigiConfigParser.reload()


def build(
    tasks: Iterable[luigi.Task] | luigi.Task, *, workers: int = 1, expect_success: bool = True
) -> dict[str, set[str]]:
    """Run ``tasks`` like ``luigi --local-scheduler`` does, in this process (forked workers if ``workers > 1``).

    Args:
        tasks: one task or several.
        workers: Luigi worker processes.
        expect_success: whether the run must succeed (``False``: it must fail).

    Returns:
        Luigi's execution summary: ``{status: task ids}`` (``completed``, ``already_done``,
        ``failed``, ...).

    Raises:
        BuildFailed: the run succeeded or failed against ``expect_success`` (with Luigi's summary).
    """
    import luigi
    import luigi.execution_summary

    reset_process_state()
    task_list = [tasks] if isinstance(tasks, luigi.Task) else list(tasks)
    result = luigi.build(task_list, local_scheduler=True, detailed_summary=True, workers=workers, log_level="WARNING")
    ok = result.status in (luigi.LuigiStatusCode.SUCCESS, luigi.LuigiStatusCode.SUCCESS_WITH_RETRY)
    if ok != expect_success:
        raise BuildFailed(f"luigi.build ended {result.status}:\n{result.summary_text}")
    summary = luigi.execution_summary._summary_dict(result.worker)
    return {status: {t.task_id for t in found} for status, found in summary.items()}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``aker_keep_env`` ini option."""
    parser.addini(
        "aker_keep_env",
        type="args",
        default=[],
        help="AKER_* environment variables aker_tasks.testing leaves set (e.g. a test database DSN)",
    )


@pytest.fixture(autouse=True)
def aker_isolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[None]:
    """Run the test as a fresh process with default settings, a private cache and working directory."""
    keep = set(request.config.getini("aker_keep_env"))
    for key in list(os.environ):
        if key.startswith(("AKER_", "OPENLINEAGE")) and key not in keep:
            monkeypatch.delenv(key)
    # A developer's lineage receiver must not get the tests' events (nor one in ~/.openlineage).
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    monkeypatch.delenv("LUIGI_CONFIG_PATH", raising=False)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("AKER_CACHE_PATH", str(tmp_path / "cache"))
    # No .env of the project's: a test that wants one writes ./.env (this file).
    monkeypatch.setenv("AKER_ENV_FILE", str(work / ".env"))
    from luigi.configuration import LuigiConfigParser

    # Restored afterwards, so the packaged-config-only list does not outlive the test.
    monkeypatch.setattr(LuigiConfigParser, "_config_paths", list(LuigiConfigParser._config_paths))
    reset_luigi_config()
    reset_process_state()
    yield
    reset_process_state()
    LuigiConfigParser._instance = None


@pytest.fixture
def aker_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the bundled sample (``tmp_path / "source"``), set as ``AKER_SOURCE_URI``."""
    from aker_core.sources import SAMPLE_DIR

    dest = tmp_path / "source"
    shutil.copytree(SAMPLE_DIR, dest)
    monkeypatch.setenv("AKER_SOURCE_URI", str(dest))
    _reset_settings()
    return dest


@pytest.fixture
def aker_database_url(tmp_path: Path) -> str:
    """URL of the database :func:`aker_database` migrates: SQLite under ``tmp_path``; override to change."""
    return f"sqlite:///{tmp_path / 'db' / 'aker.db'}"


@pytest.fixture
def aker_database(aker_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``aker_database_url`` migrated to head and set as ``AKER_POSTGIS_DSN``; returns the URL."""
    from aker_data.engine import create_engine_from_url
    from aker_data.migrate import upgrade

    monkeypatch.setenv("AKER_POSTGIS_DSN", aker_database_url)
    _reset_settings()
    engine = create_engine_from_url(aker_database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return aker_database_url


@pytest.fixture
def aker_configure(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """``aker_configure(field=value, ...)`` sets ``AKER_<FIELD>`` for each and returns the new settings.

    Mappings and lists are passed as JSON (``weights={"supply": 1, ...}``), everything else as text.
    """

    def configure(**fields: Any) -> Settings:
        from aker_core.config import get_settings

        for name, value in fields.items():
            text = json.dumps(value) if isinstance(value, dict | list) else str(value)
            monkeypatch.setenv(f"AKER_{name.upper()}", text)
        _reset_settings()
        return get_settings()

    return configure


@pytest.fixture
def aker_build() -> Callable[..., dict[str, set[str]]]:
    """:func:`build`, as a fixture."""
    return build


def _reset_settings() -> None:
    from aker_core.config import reset_settings

    reset_settings()
