"""The pipeline's batch metrics (textfile) and JSON logs carrying the run id."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aker_tasks import ExportScores, PublishScores, ScoreMarkets
from tests.tasks.conftest import build

AS_OF = dt.date(2024, 6, 1)
ROOT = Path(__file__).resolve().parents[2]


def _samples(path: Path) -> dict[tuple[str, str, str], float]:
    out: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(path.read_text()):
        for s in family.samples:
            out[(s.name, s.labels.get("task_family", ""), s.labels.get("outcome", ""))] = s.value
    return out


def test_pipeline_writes_task_metrics_textfile(
    source_dir: Path, run_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Executed tasks, then cache hits on a rerun, are counted per task family in the textfile."""
    textfile = tmp_path / "metrics" / "aker.prom"
    textfile.parent.mkdir()
    monkeypatch.setenv("AKER_METRICS_TEXTFILE", str(textfile))
    build(ScoreMarkets(as_of=AS_OF))
    first = _samples(textfile)
    assert first[("aker_task_runs_total", "FetchSource", "executed")] == 5
    assert first[("aker_task_runs_total", "ScorePillar", "executed")] == 4
    for family in ("ComposeScores", "PublishScores", "ExportScores"):
        assert first[("aker_task_runs_total", family, "executed")] == 1
        assert first[("aker_task_rows_out_total", family, "")] > 0
    for family in ("ComposeScores", "ExportScores"):
        assert first[("aker_task_written_bytes_total", family, "")] > 0
    # ScoreMarkets is a wrapper (no run of its own): the rerun is of the tasks it requires, the
    # way `luigi ... PublishScores` / `ExportScores` would find them complete.
    build([PublishScores(as_of=AS_OF), ExportScores(as_of=AS_OF)])
    second = _samples(textfile)
    for family in ("PublishScores", "ExportScores"):
        assert second[("aker_task_runs_total", family, "cached")] == 1
        assert second[("aker_task_runs_total", family, "executed")] == 1


def test_failed_task_is_counted(source_dir: Path, run_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A task that fails increments the failed outcome of its family."""
    textfile = tmp_path / "aker.prom"
    monkeypatch.setenv("AKER_METRICS_TEXTFILE", str(textfile))
    (source_dir / "market_jobs.csv").write_text("")
    build(ScoreMarkets(as_of=AS_OF), expect_success=False)
    assert _samples(textfile)[("aker_task_runs_total", "SourceVintages", "failed")] == 1


@pytest.mark.slow
def test_json_logs_carry_run_id(source_dir: Path, tmp_path: Path) -> None:
    """With AKER_LOG_FORMAT=json the tasks' log lines are JSON objects with run id, task and as_of."""
    # aker's packaged Luigi configuration, not one of the developer's; no .env of the checkout.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKER_") and k != "LUIGI_CONFIG_PATH"}
    env.update(
        AKER_ENV_FILE=str(tmp_path / "no.env"),
        AKER_CACHE_PATH=str(tmp_path / "cache"),
        AKER_SOURCE_URI=str(source_dir),
        AKER_LOG_FORMAT="json",
        AKER_POSTGIS_DSN=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "luigi"),
            "--module",
            "aker_tasks",
            "ScoreMarkets",
            "--as-of",
            "2024-06-01",
            "--local-scheduler",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [orjson.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    wrote = [r for r in records if "wrote" in r["message"]]
    # One line per task that writes a file (PublishScores writes the database, not a file).
    assert sorted(r["task"] for r in wrote) == sorted(
        ["ComposeScores", "ExportScores", *["FetchSource"] * 5, *["ScorePillar"] * 4, *["SourceVintages"] * 5]
    )
    # SourceVintages reads every vintage: it has no as_of
    assert all(r["run_id"] and r["task"] for r in wrote)
    assert all(r["as_of"] == "2024-06-01" for r in wrote if r["task"] != "SourceVintages")
    assert len({r["run_id"] for r in wrote}) == 16


def test_sigterm_during_a_task_marks_its_run_failed(run_db: str) -> None:
    """A task process killed with SIGTERM unwinds: its run ends 'failed', not stuck 'running'."""
    import signal

    from sqlalchemy.orm import sessionmaker

    from aker_core.run import RunContext
    from aker_data.engine import create_engine_from_url
    from aker_data.models import Run
    from aker_tasks.events import install_sigterm_handler

    previous = signal.getsignal(signal.SIGTERM)
    engine = create_engine_from_url(run_db)
    factory = sessionmaker(bind=engine)
    try:
        install_sigterm_handler()
        with pytest.raises(SystemExit), RunContext(factory) as run:
            os.kill(os.getpid(), signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)
    with factory() as s:
        row = s.get(Run, run.id)
        assert row is not None
        assert row.status == "failed"
        assert row.error == "SystemExit: 143"
    engine.dispose()


def test_cached_score_markets_rerun_is_counted(
    source_dir: Path, run_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fully cached ScoreMarkets rerun counts one cache hit for ScoreMarkets."""
    textfile = tmp_path / "aker.prom"
    monkeypatch.setenv("AKER_METRICS_TEXTFILE", str(textfile))
    build(ScoreMarkets(as_of=AS_OF))
    build(ScoreMarkets(as_of=AS_OF))
    assert _samples(textfile).get(("aker_task_runs_total", "ScoreMarkets", "cached")) == 1
