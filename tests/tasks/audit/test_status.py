"""`aker status`: fresh/stale/missing per task and the key part that changed, without writing anything."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from aker_core.config import reset_settings
from aker_tasks import base
from aker_tasks.audit import status
from aker_tasks.audit.report import StatusReport
from aker_tasks.cli import main as aker
from aker_tasks.hashing import file_hash
from aker_tasks.targets import read_sidecar
from tests.tasks.audit.conftest import STATUS_AS_OF as AS_OF
from tests.tasks.audit.conftest import WEIGHTS
from tests.tasks.audit.conftest import BuiltPipeline as Pipeline
from tests.tasks.conftest import db_counts
from tests.tasks.luigiproc import BIN, free_port

FILE_TASKS = [
    "SourceVintages(markets)",
    "SourceVintages(market_supply)",
    "SourceVintages(market_jobs)",
    "SourceVintages(market_urban)",
    "SourceVintages(market_outdoors)",
    "FetchSource(markets)",
    "FetchSource(market_supply)",
    "FetchSource(market_jobs)",
    "FetchSource(market_urban)",
    "FetchSource(market_outdoors)",
    "ScorePillar(supply)",
    "ScorePillar(jobs)",
    "ScorePillar(urban)",
    "ScorePillar(outdoor)",
    "ComposeScores",
    "ExportScores(csv)",
]


def _states(report: StatusReport) -> dict[str, str]:
    return {t.task: t.state for t in report.tasks}


def _not_fresh(report: StatusReport) -> list[str]:
    return [t.task for t in report.tasks if t.state != "fresh"]


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and mtime (to show nothing was written)."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def test_nothing_changed_all_fresh(built: Pipeline) -> None:
    """Right after a run every task is fresh and the publication current; nothing is written."""
    rows = db_counts(built.db_url)
    before = _files(built.tmp)
    report = status(AS_OF)
    assert set(_states(report).values()) == {"fresh"} and len(report.tasks) == 17
    assert report.publication.state == "current" and report.up_to_date
    assert all(not t.causes for t in report.tasks)
    after = _files(built.tmp)
    assert {k: v for k, v in after.items() if before.get(k) != v} == {}
    assert set(before) - set(after) == set()
    assert db_counts(built.db_url) == rows


def test_cli_exit_code_zero_when_fresh_one_when_stale(built: Pipeline) -> None:
    """The `aker status --exit-code` command exits 0 when all is fresh, 1 after a source edit; --json parses."""
    aker = [str(BIN / "aker"), "status", "--as-of", AS_OF.isoformat()]
    fresh = subprocess.run([*aker, "--exit-code"], env=built.env(), capture_output=True, text=True, check=False)
    assert fresh.returncode == 0, fresh.stderr
    assert "17 fresh, 0 stale, 0 missing -- ScoreMarkets would do nothing" in fresh.stdout
    (built.source / "market_urban.csv").write_text((built.source / "market_urban.csv").read_text() + "\n")
    stale = subprocess.run(
        [*aker, "--exit-code", "--json"], env=built.env(), capture_output=True, text=True, check=False
    )
    assert stale.returncode == 1, stale.stderr
    doc = orjson.loads(stale.stdout)
    assert doc["up_to_date"] is False and doc["counts"]["stale"] == 6


def test_source_edit_names_that_dataset_and_its_downstream(built: Pipeline) -> None:
    """Editing market_jobs makes exactly its read, fetch and pillar, the composite, publication and export stale."""
    path = built.source / "market_jobs.csv"
    old = file_hash(path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[-1].replace("2024-03-31", "2024-04-30")]) + "\n")
    report = status(AS_OF)
    assert _not_fresh(report) == [
        "SourceVintages(market_jobs)",
        "FetchSource(market_jobs)",
        "ScorePillar(jobs)",
        "ComposeScores",
        "PublishScores",
        "ExportScores(csv)",
    ]
    assert {t.state for t in report.tasks if t.state != "fresh"} == {"stale"}
    fetch = next(t for t in report.tasks if t.task == "FetchSource(market_jobs)")
    (cause,) = fetch.causes
    assert (cause.part, cause.name, cause.old, cause.new) == ("source", "market_jobs", old, file_hash(path))
    assert cause.detail["location"] == str(path)
    assert cause.detail["rows_new"] == cause.detail["rows_old"] + 1 == len(lines)
    assert fetch.previous is not None and read_sidecar(Path(fetch.previous + ".json"))["inputs"]["source"] == old
    pillar = next(t for t in report.tasks if t.task == "ScorePillar(jobs)")
    assert [(c.part, c.name) for c in pillar.causes] == [("upstream", "FetchSource(market_jobs)")]
    assert report.publication.state == "unknown"
    assert aker(["status", "--as-of", AS_OF.isoformat(), "--exit-code"]) == 1


def test_weights_change_names_the_weights(built: Pipeline) -> None:
    """Other weights leave fetches and pillars fresh; the composite names each weight old -> new."""
    report = status(AS_OF, orjson.loads(WEIGHTS))
    assert _not_fresh(report) == ["ComposeScores", "PublishScores", "ExportScores(csv)"]
    compose = next(t for t in report.tasks if t.task == "ComposeScores")
    changes = {c.name: (c.old, c.new) for c in compose.causes}
    assert set(changes) == {"weights.supply", "weights.outdoor"}
    assert changes["weights.supply"] == (pytest.approx(0.3), pytest.approx(0.4))
    assert changes["weights.outdoor"] == (pytest.approx(0.2), pytest.approx(0.1))
    publish = next(t for t in report.tasks if t.task == "PublishScores")
    assert publish.state == "stale" and report.publication.state == "unknown"
    assert report.publication.weights == pytest.approx({"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2})


def test_other_publication_of_the_date_is_named(built: Pipeline) -> None:
    """Composite built with other weights but the date republished since: only publication and export rerun."""
    built.run("--weights", WEIGHTS)
    built.run()  # the default weights' scores are published again (the later publication wins)
    report = status(AS_OF, orjson.loads(WEIGHTS))
    assert _not_fresh(report) == ["PublishScores", "ExportScores(csv)"]
    assert report.publication.state == "other"
    publish = next(t for t in report.tasks if t.task == "PublishScores")
    (cause,) = publish.causes
    assert cause.part == "publication" and cause.detail["run_id"] == report.publication.run_id
    assert report.publication.weights == pytest.approx({"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2})


def test_compared_with_the_closest_earlier_target(built: Pipeline) -> None:
    """With composites of two weight sets built, a source edit is not also reported as a weights change."""
    built.run("--weights", WEIGHTS)  # the newest composite now has other weights than the default
    supply = built.source / "market_supply.csv"
    supply.write_text(supply.read_text() + "\n")
    compose = next(t for t in status(AS_OF).tasks if t.task == "ComposeScores")
    assert [(c.part, c.name) for c in compose.causes] == [("upstream", "ScorePillar(supply)")]


def test_unreadable_source_is_reported_not_raised(built: Pipeline) -> None:
    """A deleted source file is a cause naming it; the other fetches stay fresh."""
    (built.source / "market_outdoors.csv").unlink()
    report = status(AS_OF)
    fetch = next(t for t in report.tasks if t.task == "FetchSource(market_outdoors)")
    (cause,) = fetch.causes
    assert fetch.state == "stale" and cause.part == "source" and "market_outdoors" in cause.detail["error"]
    assert _not_fresh(report) == [
        "SourceVintages(market_outdoors)",
        "FetchSource(market_outdoors)",
        "ScorePillar(outdoor)",
        "ComposeScores",
        "PublishScores",
        "ExportScores(csv)",
    ]


def test_library_upgrade_makes_every_file_task_stale(built: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new pyarrow version (a code-version input) is named on every task it would rerun."""
    current = base.library_versions()
    monkeypatch.setattr(base, "library_versions", lambda: {**current, "pyarrow": "99.0.0"})
    report = status(AS_OF)
    assert _not_fresh(report) == [*FILE_TASKS[:15], "PublishScores", "ExportScores(csv)"]
    for task in report.tasks:
        if task.family != "PublishScores":
            assert ("library", "pyarrow", current["pyarrow"], "99.0.0") in [
                (c.part, c.name, c.old, c.new) for c in task.causes
            ], task.task


def test_code_change_names_the_module_and_file(built: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new version of the pillar scoring module makes the four pillars stale, naming the file."""
    real = base.code_version
    monkeypatch.setattr(base, "code_version", lambda m: real(m) + ("-v2" if m == "aker_core.scoring.pillars" else ""))
    report = status(AS_OF)
    assert _not_fresh(report) == [*FILE_TASKS[10:15], "PublishScores", "ExportScores(csv)"]
    pillar = next(t for t in report.tasks if t.task == "ScorePillar(urban)")
    (cause,) = pillar.causes
    assert (cause.part, cause.name, cause.detail["file"]) == (
        "code",
        "aker_core.scoring.pillars",
        "aker_core/scoring/pillars.py",
    )
    assert cause.new == cause.old + "-v2"


def test_lost_database_is_a_line_not_a_crash(
    built: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deleted SQLite file or an unreachable server: publication missing, one clear line, nothing created."""
    if built.db_url.startswith("sqlite"):
        db_file = Path(built.db_url.removeprefix("sqlite:///"))
        for leftover in db_file.parent.glob(db_file.name + "*"):
            leftover.unlink()
        expected = "does not exist"
    else:
        monkeypatch.setenv("AKER_POSTGIS_DSN", f"postgresql://aker:s3cret-pw@127.0.0.1:{free_port()}/aker")
        reset_settings()
        expected = "cannot connect"
    before = _files(built.tmp)
    report = status(AS_OF)
    assert report.publication.state == "unreachable" and expected in report.publication.detail
    assert _not_fresh(report) == ["PublishScores", "ExportScores(csv)"]
    publish = next(t for t in report.tasks if t.task == "PublishScores")
    assert publish.state == "missing" and [c.part for c in publish.causes] == ["database"]
    assert _files(built.tmp) == before  # not even an empty database file
    assert aker(["status", "--as-of", AS_OF.isoformat()]) == 0
    out = capsys.readouterr()
    assert "database" in out.out and expected in out.out and "Traceback" not in out.err
    assert "s3cret-pw" not in out.out + out.err


def test_missing_before_the_first_run(tmp_path: Path, source_dir: Path, run_db: str) -> None:
    """Before anything was built every task is missing (never built), not stale."""
    report = status(AS_OF)
    assert {t.state for t in report.tasks} == {"missing"}
    assert report.publication.state == "none"
    assert _files(tmp_path / "cache") == {}


def test_bad_weights_exit_2_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Invalid --weights end with exit 2 and one line naming the problem."""
    code = aker(["status", "--as-of", AS_OF.isoformat(), "--weights", '{"supply": -1}'])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "weights" in err
