"""`aker gc`: old results of an edited source go, every current result stays readable."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from aker_core.liveness import process_token
from aker_data.engine import create_engine_from_url
from aker_data.migrate import upgrade
from aker_data.models import Run
from aker_tasks.audit.gc import EXIT_REFUSED, GcRefused, collect
from aker_tasks.audit.trace import trace
from aker_tasks.targets import CacheTarget
from tests.tasks.audit.conftest import AS_OF, Pipeline, backdate

OTHER_WEIGHTS = '{"supply":0.4,"jobs":0.3,"urban":0.2,"outdoor":0.1}'


def _files(cache: Path) -> set[Path]:
    return {p for p in cache.rglob("*") if p.is_file() and p.parts[len(cache.parts)] in ("targets", "sources")}


def _one(cache: Path, pattern: str) -> Path:
    found = [p for p in cache.glob(pattern) if not p.name.endswith(".json")]
    assert len(found) == 1, found
    return found[0]


def _edit_supply(pipeline: Pipeline) -> None:
    path = pipeline.source / "market_supply.csv"
    with open(path, "r+b") as handle:
        handle.write(path.read_bytes().replace(b"9.62", b"1.11", 1))


def _old_and_new(pipeline: Pipeline) -> set[Path]:
    """Run, age everything, edit the supply source, run again, age again; return the first run's supply chain."""
    pipeline.luigi()
    old = {
        _one(pipeline.cache, "targets/SourceVintages/all/market_supply-*"),
        _one(pipeline.cache, "targets/FetchSource/*/market_supply-*"),
        _one(pipeline.cache, "targets/ScorePillar/*/supply-*"),
        _one(pipeline.cache, "targets/ComposeScores/*/scores-*"),
        _one(pipeline.cache, "targets/ExportScores/*/scores-*"),
    }
    sources = set((pipeline.cache / "sources").rglob("*.csv"))
    backdate(pipeline.cache, 40)
    _edit_supply(pipeline)
    pipeline.luigi()
    backdate(pipeline.cache, 40)
    new_sources = set((pipeline.cache / "sources").rglob("*.csv")) - sources
    assert len(new_sources) == 1  # the edited supply file
    old_supply = [p for p in sources if p.read_bytes() != (pipeline.source / "market_supply.csv").read_bytes()]
    supply_sources = [p for p in old_supply if b"permit_per_1k" in p.read_bytes()]
    assert len(supply_sources) == 1
    return old | set(supply_sources)


def test_dry_run_lists_then_gc_removes_only_the_old_results(pipeline: Pipeline) -> None:
    """--dry-run lists the first run's supply chain and removes nothing; gc removes exactly it, sidecars too."""
    old = _old_and_new(pipeline)
    before = _files(pipeline.cache)

    listed = pipeline.aker("gc", "--dry-run")
    assert listed.returncode == 0, listed.stderr
    assert _files(pipeline.cache) == before
    assert {Path(line.split()[-1]) for line in listed.stdout.splitlines() if line.startswith("would remove ")} == old
    dry = collect(dry_run=True)
    assert {Path(r.path) for r in dry.removed} == old and dry.removed_bytes > 0
    assert f"{len(old)} file(s), " in listed.stdout and "would be removed" in listed.stdout

    done = pipeline.aker("gc", "--json")
    assert done.returncode == 0, done.stderr
    sidecars = {p.with_name(p.name + ".json") for p in old if "targets" in p.parts}
    assert _files(pipeline.cache) == before - old - sidecars


def test_after_gc_every_current_result_is_readable(pipeline: Pipeline) -> None:
    """After gc a rerun of ScoreMarkets runs nothing, and the current score still traces to kept bytes."""
    _old_and_new(pipeline)
    assert pipeline.aker("gc").returncode == 0
    runs = len(pipeline.runs())
    rerun = pipeline.luigi()
    assert len(pipeline.runs()) == runs, rerun.stderr[-2000:]
    found = trace(AS_OF, "12420")
    assert all(d.source is not None and d.source.retained for d in found.datasets())
    assert found.composite.target_exists and all(p.step.target_exists for p in found.pillars)


def test_the_latest_publication_of_each_weights_is_kept(pipeline: Pipeline) -> None:
    """A composite of other weights, no longer in the database but the latest of its weights, survives gc."""
    pipeline.luigi()
    pipeline.luigi("ScoreMarkets", "--as-of", AS_OF, "--weights", OTHER_WEIGHTS)
    backdate(pipeline.cache, 40)
    assert collect(keep_days=0).removed == []
    composites = len(pipeline.runs("ComposeScores"))
    pipeline.luigi()  # back to the default weights: republished from the kept composite
    assert len(pipeline.runs("ComposeScores")) == composites
    assert pipeline.runs()[-1].task_family in ("PublishScores", "ExportScores")


def test_young_results_are_kept_whatever_keep_days_says(pipeline: Pipeline) -> None:
    """Results of the last hour stay even with --keep-days 0 (a pipeline between two tasks may need them)."""
    pipeline.luigi()
    _edit_supply(pipeline)
    pipeline.luigi()
    before = _files(pipeline.cache)
    assert collect(keep_days=0).removed == []
    assert _files(pipeline.cache) == before


def _insert_running(db_url: str, pid: int, token: str | None) -> str:
    run_id = str(uuid.uuid4())
    engine = create_engine_from_url(db_url)
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as s, s.begin():
        s.add(
            Run(
                run_id=run_id,
                git_sha="0" * 40,
                config_hash="x",
                config_json={},
                seed=0,
                started_at=now,
                heartbeat_at=now,
                status="running",
                task_family="ScorePillar",
                task_params={"as_of": AS_OF, "pillar": "supply"},
                host=socket.gethostname(),
                pid=pid,
                process_token=token,
            )
        )
    engine.dispose()
    return run_id


def test_gc_removes_nothing_while_a_run_is_running(pipeline: Pipeline) -> None:
    """A running run of a live process: gc says which and removes nothing, even what is old and unreferenced."""
    _old_and_new(pipeline)
    before = _files(pipeline.cache)
    run_id = _insert_running(pipeline.db_url, os.getpid(), process_token())
    done = pipeline.aker("gc", "--keep-days", "0")
    assert done.returncode == EXIT_REFUSED
    assert done.stderr.count("\n") == 1 and run_id in done.stderr and "nothing removed" in done.stderr
    assert _files(pipeline.cache) == before
    with pytest.raises(GcRefused):
        collect(dry_run=True)


def test_an_abandoned_run_does_not_hold_gc_back(pipeline: Pipeline) -> None:
    """A running run whose process is gone is marked abandoned, and gc goes ahead."""
    old = _old_and_new(pipeline)
    dead = subprocess.Popen(["true"])
    token = process_token(dead.pid)
    dead.wait()
    _insert_running(pipeline.db_url, dead.pid, token or "boot:1")
    result = collect()
    assert {Path(r.path) for r in result.removed} == old
    assert [r.status for r in pipeline.runs() if r.status == "running"] == []


def test_gc_refuses_a_database_without_publications(pipeline: Pipeline, tmp_path: Path) -> None:
    """Pointed at a database that publishes nothing, gc removes nothing (it would remove every result)."""
    pipeline.luigi()
    backdate(pipeline.cache, 40)
    before = _files(pipeline.cache)
    other = create_engine_from_url(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    other.dispose()
    done = pipeline.aker("gc", AKER_POSTGIS_DSN=f"sqlite:///{tmp_path / 'other.db'}")
    assert done.returncode == EXIT_REFUSED and "records no publication" in done.stderr
    assert _files(pipeline.cache) == before


def test_a_gc_killed_between_sidecar_and_data_leaves_no_half_valid_target(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sidecar first: a crash after it leaves data that reads as not built, and the next gc removes it."""
    old = _old_and_new(pipeline)
    real_unlink = Path.unlink

    def crash_on_data(self: Path, missing_ok: bool = False) -> None:
        if self in old and "targets" in self.parts:
            raise KeyboardInterrupt("killed")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", crash_on_data)
    with pytest.raises(KeyboardInterrupt):
        collect()
    monkeypatch.setattr(Path, "unlink", real_unlink)
    targets = [p for p in old if "targets" in p.parts]
    assert all(p.exists() for p in targets)  # killed at the first data file
    half = [p for p in targets if not p.with_name(p.name + ".json").exists()]
    assert len(half) == 1 and not CacheTarget(half[0]).exists()
    collect()
    assert not any(p.exists() for p in old)


def test_a_lost_sqlite_database_is_not_recreated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aker gc --dry-run` on a SQLite file that does not exist exits 3 saying so and creates nothing."""
    from aker_core.config import reset_settings
    from aker_tasks.cli import main as aker

    database = tmp_path / "lost" / "aker.db"
    monkeypatch.setenv("AKER_POSTGIS_DSN", f"sqlite:///{database}")
    reset_settings()
    assert aker(["gc", "--dry-run"]) == 3
    assert (
        capsys.readouterr().err
        == f"aker gc: database sqlite:///{database} does not exist (nothing recorded yet, or the file was lost)\n"
    )
    assert not database.parent.exists()


def test_an_invalid_setting_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aker gc` with an invalid AKER_* value names it on stderr, exit 2, no traceback."""
    from aker_core.config import reset_settings
    from aker_tasks.cli import main as aker

    monkeypatch.setenv("AKER_GC_KEEP_DAYS", "-5")
    reset_settings()
    assert aker(["gc", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aker gc: invalid configuration") and "AKER_GC_KEEP_DAYS" in err
    assert "Traceback" not in err
