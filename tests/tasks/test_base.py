"""preload_runtime: what is loaded before workers fork, and when (not in complete())."""

from __future__ import annotations

import datetime as dt
import gc
import sys
from collections.abc import Iterator
from pathlib import Path

import luigi
import luigi.scheduler
import luigi.worker
import pytest

from aker_tasks import FetchSource, ScoreMarkets, base

AS_OF = dt.date(2024, 6, 1)


@pytest.fixture
def fresh_preload(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """preload_runtime as in a new process (not yet run), restoring the collector's state afterwards."""
    monkeypatch.setattr(base, "_preloaded", False)
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_preload_leaves_the_collector_enabled(fresh_preload: None) -> None:
    """The collector paused for the imports is running again afterwards."""
    gc.enable()
    base.preload_runtime()
    assert gc.isenabled()


def test_preload_keeps_a_disabled_collector_disabled(fresh_preload: None) -> None:
    """A caller that disabled the collector finds it still disabled."""
    gc.disable()
    base.preload_runtime()
    assert not gc.isenabled()


def test_preload_imports_extra_modules_after_the_first_call(
    fresh_preload: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later call with modules not loaded yet imports them."""
    base.preload_runtime()
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    base.preload_runtime(("colorsys",))
    assert "colorsys" in sys.modules


def test_complete_is_a_pure_question(fresh_preload: None, source_dir: Path) -> None:
    """Asking an unbuilt task whether it is complete loads nothing before the fork."""
    assert not FetchSource(dataset="market_jobs", as_of=AS_OF).complete()
    assert not base._preloaded


def test_scheduling_a_graph_with_work_preloads_once(fresh_preload: None, source_dir: Path) -> None:
    """Scheduling a graph in which something will run loads the runtime before any worker forks."""
    worker = luigi.worker.Worker(scheduler=luigi.scheduler.Scheduler(), worker_processes=2)
    with worker:
        assert worker.add(ScoreMarkets(as_of=AS_OF))
    assert base._preloaded
    assert {"pyarrow.csv", "sqlalchemy.orm"} <= set(sys.modules)
