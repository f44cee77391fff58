"""`aker runs list/show/diff`: the recorded runs, and what differs between two of them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from aker_core.config import reset_settings
from aker_tasks.audit import AuditError, diff_runs, list_runs, show_run
from aker_tasks.audit.rundiff import diff_last
from aker_tasks.cli import main as aker
from aker_tasks.hashing import library_versions
from tests.tasks.audit.conftest import STATUS_AS_OF as AS_OF
from tests.tasks.audit.conftest import WEIGHTS
from tests.tasks.audit.conftest import BuiltPipeline as Pipeline
from tests.tasks.luigiproc import BIN


def test_list_filters_by_task_and_as_of(built: Pipeline) -> None:
    """A first run records 17 task runs, newest first; --task and --as-of filter, --limit cuts."""
    runs = list_runs(limit=None)
    assert len(runs) == 17 and all(r.status == "completed" for r in runs)
    assert [r.started_at for r in runs] == sorted((r.started_at for r in runs), reverse=True)
    fetches = list_runs(task="FetchSource", as_of=AS_OF)
    assert sorted(r.task_params["dataset"] for r in fetches) == sorted(
        ["markets", "market_supply", "market_jobs", "market_urban", "market_outdoors"]
    )
    assert list_runs(as_of="2023-01-01") == []
    assert len(list_runs(limit=3)) == 3


def test_show_by_prefix_has_code_versions_and_lineage(built: Pipeline) -> None:
    """A run shown by a unique id prefix carries its code modules, library versions and lineage."""
    (compose,) = list_runs(task="ComposeScores")
    run = show_run(compose.run_id[:8])
    assert run.run_id == compose.run_id
    assert run.code_versions is not None
    assert run.code_versions["libraries"] == library_versions()
    assert "aker_core.scoring.composite" in run.code_versions["modules"]
    assert sorted(i.source for i in run.lineage if i.direction == "input") == sorted(
        ["target:markets", "target:supply", "target:jobs", "target:urban", "target:outdoor"]
    )
    assert [i.hash for i in run.lineage if i.direction == "output"] == [run.output_hash]


def test_unknown_or_ambiguous_prefix_is_a_usage_error(built: Pipeline) -> None:
    """An id no run has, or a prefix several share, is refused with exit code 2."""
    with pytest.raises(AuditError, match="no run id starts with") as unknown:
        show_run("ffffffffffff")
    assert unknown.value.code == 2
    supply = built.source / "market_supply.csv"
    supply.write_text(supply.read_text() + "\n")
    built.run()  # 17 + 6 runs: more than 16, so two ids share their first hex digit
    firsts = [r.run_id[0] for r in list_runs(limit=None)]
    shared = next(c for c in firsts if firsts.count(c) > 1)
    with pytest.raises(AuditError, match="more than one") as ambiguous:
        show_run(shared)
    assert ambiguous.value.code == 2
    with pytest.raises(AuditError, match="not a run id"):
        show_run("x' OR 1=1")


def test_diff_of_a_weights_change(built: Pipeline) -> None:
    """The last two composites differ in exactly the weights changed, and in their output."""
    built.run("--weights", WEIGHTS)
    diff = diff_last("ComposeScores", AS_OF)
    assert {c.name for c in diff.config} == {"weights.supply", "weights.outdoor"}
    assert diff.git == () and diff.code == () and diff.libraries == () and diff.inputs == ()
    assert not diff.output_equal
    assert diff.a.config_hash != diff.b.config_hash


def test_diff_of_identical_runs(built: Pipeline) -> None:
    """A composite recomputed from the same inputs (cache deleted) differs in nothing, output equal."""
    first = show_run(list_runs(task="ComposeScores")[0].run_id)
    shutil.rmtree(built.tmp / "cache" / "targets" / "ComposeScores")
    built.run()
    second = list_runs(task="ComposeScores")[0]
    assert second.run_id != first.run_id
    diff = diff_runs(first.run_id[:10], second.run_id[:10])
    assert diff.differences == 0 and diff.output_equal


def test_cli_diff_last_and_list_json(built: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    """`aker runs diff --last` prints the changed weights and the differing output; `list --json` parses."""
    built.run("--weights", WEIGHTS)
    assert aker(["runs", "diff", "--last", "ComposeScores", "--as-of", AS_OF.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "weights.supply: 0.3 -> 0.4" in out and "output     DIFFERENT" in out and "code       same" in out
    assert aker(["runs", "list", "--task", "PublishScores", "--json"]) == 0
    listed = orjson.loads(capsys.readouterr().out)
    assert len(listed) == 2 and {r["task_family"] for r in listed} == {"PublishScores"}
    assert aker(["runs", "diff", "--last", "FetchSource", "--as-of", "2023-01-01"]) == 2


def test_diff_masks_secrets(built: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    """A run with an API key (and, on PostgreSQL, a DSN password) shows them changed, never their values."""
    settings = {"AKER_BLS_API_KEY": "bls-s3cret-key"}
    if built.db_url.startswith("postgresql"):  # the test server trusts any password
        settings["AKER_POSTGIS_DSN"] = built.db_url.replace("postgres@", "postgres:pg-s3cret-pw@", 1)
    built.run("--weights", WEIGHTS, **settings)
    diff = diff_last("ComposeScores", AS_OF)
    assert ("bls_api_key", None, "set") in [(c.name, c.old, c.new) for c in diff.config]
    for args in (["--json"], []):
        assert aker(["runs", "diff", "--last", "ComposeScores", "--as-of", AS_OF.isoformat(), *args]) == 0
        assert aker(["runs", "show", diff.b.run_id[:8], *args]) == 0
        printed = capsys.readouterr().out
        assert "bls_api_key" in printed and "s3cret" not in printed


def test_cli_runs_show_from_the_console_script(built: Pipeline) -> None:
    """`aker runs show PREFIX` from the installed console script prints the run and its lineage."""
    run = list_runs(task="ExportScores")[0]
    shown = subprocess.run(
        [str(BIN / "aker"), "runs", "show", run.run_id[:8]],
        env=built.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert run.run_id in shown.stdout and "libraries  pyarrow" in shown.stdout and "input" in shown.stdout


def test_a_negative_limit_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aker runs list --limit -1` exits 2 with one line, on every backend, before asking the database."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", f"sqlite:///{tmp_path / 'aker.db'}")
    reset_settings()
    assert aker(["runs", "list", "--limit", "-1"]) == 2
    assert capsys.readouterr().err == "aker runs list: --limit: must be 0 or more, got -1\n"


def test_diff_last_compares_two_runs_of_the_same_task(built: Pipeline) -> None:
    """`runs diff --last FetchSource` pairs the newest fetch with the previous fetch of that dataset, not another."""
    oldest = list_runs(task="FetchSource", as_of=AS_OF)[-1].task_params["dataset"]
    source = built.source / f"{oldest}.csv"
    source.write_text(source.read_text() + "\n")  # other bytes, same rows: only this fetch reruns
    built.run()
    diff = diff_last("FetchSource", AS_OF)
    assert diff.a.task_params["dataset"] == diff.b.task_params["dataset"] == oldest
    assert [c.name for c in diff.inputs] == [oldest]
