"""ExportScores --format html and `aker report`: the scorecard of the published scores at a stable path."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from aker_tasks import ExportScores, ScoreMarkets
from aker_tasks.targets import CacheTarget
from tests.browser import BrowserPage, browser, browser_page  # noqa: F401  (fixtures)
from tests.tasks.conftest import build
from tests.tasks.luigiproc import aker_env, copy_sample

AS_OF = dt.date(2024, 6, 1)
EARLIER = dt.date(2023, 12, 31)


def _scorecard(source_dir: Path) -> tuple[Path, str]:
    """Publish EARLIER and AS_OF, export AS_OF as html; (the stable page, its text)."""
    build(ScoreMarkets(as_of=EARLIER))
    build(ExportScores(as_of=AS_OF, format="html"))
    task = ExportScores(as_of=AS_OF, format="html")
    target = task.output()
    assert isinstance(target, CacheTarget) and target.sidecar()["content_type"] == "text/html"
    stable = task.stable_path()
    assert stable.name == "scorecard.html" and stable.parent.name == AS_OF.isoformat()
    assert stable.read_bytes() == Path(target.path).read_bytes()
    return stable, stable.read_text(encoding="utf-8")


def test_html_export_is_the_scorecard_of_the_published_scores(source_dir: Path, run_db: str) -> None:
    """The page names the publishing run, the previous as_of and the hash of every source read."""
    from aker_tasks.fetch import FetchSource

    _, page = _scorecard(source_dir)
    csv = ExportScores(as_of=AS_OF, format="csv")
    build(csv)
    run_id = csv.table()["run_id"][0].as_py()
    assert page.lstrip().lower().startswith("<!doctype html")
    assert run_id in page and EARLIER.isoformat() in page
    jobs = FetchSource(dataset="market_jobs", as_of=AS_OF).output()
    assert isinstance(jobs, CacheTarget)
    assert jobs.sidecar()["source"]["content_hash"] in page
    # The sources are inputs of the page: no stale metrics when one changes.
    assert set(ExportScores(as_of=AS_OF, format="html").input_hashes() or {}) > {"scores", "source:market_jobs"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_html_export_opens_offline_in_chromium(
    source_dir: Path,
    run_db: str,
    browser_page: BrowserPage,  # noqa: F811  (the fixture imported above)
) -> None:
    """The exported page loads from disk with the network off: no error, no request, every market listed."""
    stable, _ = _scorecard(source_dir)
    browser_page.page.goto(stable.as_uri(), timeout=60_000)
    browser_page.page.wait_for_selector("body[data-ready]", timeout=60_000)
    assert browser_page.errors == [] and browser_page.requests == [stable.as_uri()]
    assert browser_page.page.locator("#markets tbody tr").count() == 43
    browser_page.screenshot(stable.parent / "scorecard.png")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_aker_report_prints_the_scorecard_path(tmp_path: Path, db_url: str) -> None:
    """`aker report --as-of D` builds what is missing and prints <export dir>/<D>/scorecard.html."""
    from aker_data.engine import create_engine_from_url
    from aker_data.migrate import upgrade

    engine = create_engine_from_url(db_url)
    upgrade(engine)
    engine.dispose()
    env = aker_env(tmp_path, copy_sample(tmp_path / "source"), db_url, AKER_EXPORT_DIR=str(tmp_path / "shared"))
    aker = str(Path(sys.executable).parent / "aker")
    done = subprocess.run(
        [aker, "report", "--as-of", AS_OF.isoformat()],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    path = tmp_path / "shared" / AS_OF.isoformat() / "scorecard.html"
    assert done.stdout == f"{path}\n" and path.stat().st_size > 100_000
