"""Task identity: the config fingerprint, the weights parameter, and the `luigi`-only start-up check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aker_core.config import reset_settings
from aker_core.exceptions import ScoringError
from aker_tasks import ComposeScores, FetchSource
from aker_tasks.identity import config_fingerprint, database_identity
from aker_tasks.luigi_setup import _cli_scheduler_url

AS_OF = dt.date(2024, 6, 1)


def test_database_identity_drops_every_secret() -> None:
    """Neither a user:password@ password nor a password query parameter enters the fingerprint."""
    a = database_identity("postgresql://u:aaaa@db:5432/x?password=aaaa&options=-csearch_path%3Ds")
    b = database_identity("postgresql://u:bbbb@db:5432/x?password=bbbb&options=-csearch_path%3Ds")
    assert a == b
    assert "aaaa" not in a and "options" in a


def test_fingerprint_changes_with_source_content(source_dir: Path) -> None:
    """Editing a source gives a new fingerprint (a new task id); an unchanged one gives the same."""
    before = config_fingerprint()
    assert config_fingerprint() == before
    supply = source_dir / "market_supply.csv"
    supply.write_text(supply.read_text() + "\n")
    assert config_fingerprint() != before


def test_fingerprint_ignores_weights_but_task_ids_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other AKER_WEIGHTS keep fetch task ids (shared work) but change the composite's."""
    fetch, compose = FetchSource(dataset="markets", as_of=AS_OF).task_id, ComposeScores(as_of=AS_OF).task_id
    monkeypatch.setenv("AKER_WEIGHTS", '{"supply": 1, "jobs": 1, "urban": 1, "outdoor": 1}')
    reset_settings()
    assert FetchSource(dataset="markets", as_of=AS_OF).task_id == fetch
    assert ComposeScores(as_of=AS_OF).task_id != compose


def test_equal_weight_ratios_are_one_task() -> None:
    """Weights are normalised, so {1,1,1,1} and {0.25,...} are the same task."""
    ones = ComposeScores(as_of=AS_OF, weights={"supply": 1, "jobs": 1, "urban": 1, "outdoor": 1})
    quarters = ComposeScores(as_of=AS_OF, weights={"supply": 0.25, "jobs": 0.25, "urban": 0.25, "outdoor": 0.25})
    assert ones.task_id == quarters.task_id


def test_invalid_weights_name_the_problem() -> None:
    """A negative weight is refused with the pillar named."""
    with pytest.raises(ScoringError, match="supply"):
        ComposeScores(as_of=AS_OF, weights={"supply": -1, "jobs": 1, "urban": 1, "outdoor": 1})


@pytest.mark.parametrize(
    "argv",
    [
        ["/venv/bin/pytest", "-q"],
        ["/usr/lib/python3/site-packages/pytest/__main__.py", "-q"],
        ["/home/u/mytool/__main__.py"],
        ["/venv/bin/luigi", "--module", "aker_tasks", "ScoreMarkets", "--local-scheduler"],
    ],
)
def test_scheduler_check_only_for_the_luigi_command_without_local_scheduler(argv: list[str]) -> None:
    """Importing aker_tasks from another program (or with --local-scheduler) never probes luigid."""
    assert _cli_scheduler_url(argv) is None


def test_scheduler_check_applies_to_the_luigi_command() -> None:
    """`luigi --module aker_tasks ...` without --local-scheduler checks the configured luigid."""
    url = _cli_scheduler_url(["/venv/bin/luigi", "--module", "aker_tasks", "ScoreMarkets", "--scheduler-port", "9"])
    assert url == "http://127.0.0.1:9/"


def test_progress_reporting_failure_does_not_fail_the_task() -> None:
    """A scheduler that cannot be reached for a progress update is logged, not raised."""
    task = FetchSource(dataset="markets", as_of=AS_OF)

    def unreachable(_value: object) -> None:
        raise OSError("luigid is gone")

    task.set_status_message = unreachable  # type: ignore[method-assign]
    task.set_progress_percentage = unreachable  # type: ignore[method-assign]
    task.report("working", percent=10)
    task.report("still working", percent=20)
    assert task._reporting_failed  # type: ignore[attr-defined]
