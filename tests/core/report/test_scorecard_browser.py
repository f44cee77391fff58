"""The HTML scorecard in a real headless Chromium: offline load, table, charts, sorting, filtering, detail."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from aker_core.report import ScorecardMeta, render_scorecard
from aker_core.sample import generate
from aker_core.scoring.pillars import metric_fraction
from aker_core.scoring.rules import RULES
from tests.browser import BrowserPage
from tests.core.report.conftest import PREVIOUS
from tests.core.report.scores_fixture import build_scores

#: Bars/points each chart must draw for the sample (43 markets, 41 ranked, 4 pillars).
SAMPLE_MARKS = {
    "chart-composite": 20,  # 20 bins
    "chart-pillars": 80,  # 4 pillars x 20 bins
    "chart-top": 80,  # 20 markets x 4 pillars
    "chart-bottom": 80,
    "chart-sensitivity": 60,  # 20 rules + 40 points
}
LOAD_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def sample_page(tmp_path_factory: pytest.TempPathFactory, sample_scores: tuple[pa.Table, pa.Table]) -> Path:
    """The sample scorecard written to a file."""
    scores, metrics = sample_scores
    meta = ScorecardMeta(
        git_sha="0123456789abcdef0123456789abcdef01234567",
        source_hashes={"market_jobs": "a1b2c3d4e5f60718", "market_supply": "0f1e2d3c4b5a6978"},
        previous_as_of=PREVIOUS,
    )
    path = tmp_path_factory.mktemp("scorecard") / "scorecard.html"
    path.write_text(render_scorecard(scores, metrics=metrics, meta=meta), encoding="utf-8")
    return path


def open_page(bp: BrowserPage, path: Path, timeout_ms: int = LOAD_TIMEOUT_MS) -> None:
    """Open ``path`` from disk and wait until the page says the table and charts are drawn."""
    bp.page.goto(path.as_uri(), timeout=timeout_ms)
    bp.page.wait_for_selector("body[data-ready]", timeout=timeout_ms)
    assert bp.page.get_attribute("body", "data-ready") == "1", bp.errors


def first_row_id(bp: BrowserPage) -> str:
    return bp.page.inner_text("#markets tbody tr:first-child td.market .id")


def wait_count(bp: BrowserPage, text: str) -> None:
    bp.page.wait_for_function("t => document.getElementById('count').textContent === t", arg=text, timeout=10_000)


def column(table: pa.Table, name: str) -> np.ndarray:
    return np.array(table.column(name).to_pylist(), dtype=object)


def test_page_loads_offline_without_errors_or_requests(browser_page: BrowserPage, sample_page: Path) -> None:
    """Opened from disk with the network off, the page logs no error or warning and requests only itself."""
    open_page(browser_page, sample_page)
    assert browser_page.errors == []
    assert browser_page.warnings == []
    assert browser_page.requests == [sample_page.as_uri()]


def test_table_shows_the_markets_ranked(
    browser_page: BrowserPage, sample_page: Path, sample_scores: tuple[pa.Table, pa.Table]
) -> None:
    """The table lists every sample market on its first page, best rank first, with the count."""
    scores, _ = sample_scores
    open_page(browser_page, sample_page)
    rows = browser_page.page.locator("#markets tbody tr")
    assert rows.count() == scores.num_rows  # 43 markets < one page of 50
    assert browser_page.page.inner_text("#count") == f"1\u2013{scores.num_rows} of {scores.num_rows} markets"
    best = scores.filter(pa.compute.equal(scores.column("rank"), 1)).column("msa_id")[0].as_py()
    assert first_row_id(browser_page) == best
    assert browser_page.page.inner_text("#kpi-markets .num") == str(scores.num_rows)


def test_charts_render_their_marks(browser_page: BrowserPage, sample_page: Path) -> None:
    """Every chart is an SVG with one mark per bin, bar segment or point."""
    open_page(browser_page, sample_page)
    for chart, marks in SAMPLE_MARKS.items():
        drawn = browser_page.page.locator(f"#{chart} svg g.role-mark > [role='graphics-symbol']").count()
        assert drawn == marks, chart
    movers = browser_page.page.locator("#chart-movers svg g.role-mark > [role='graphics-symbol']").count()
    assert 2 <= movers <= 20  # the sample has markets moving up and down


def test_sorting_by_a_column_reorders_the_rows(
    browser_page: BrowserPage, sample_page: Path, sample_scores: tuple[pa.Table, pa.Table]
) -> None:
    """Clicking Supply puts the highest supply score first; clicking again, the lowest."""
    scores, _ = sample_scores
    supply = np.array([np.nan if v is None else v for v in scores.column("supply_0_5").to_pylist()])
    ids = column(scores, "msa_id")
    open_page(browser_page, sample_page)
    header = browser_page.page.locator("#markets th[data-key='supply']")
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert first_row_id(browser_page) == ids[np.nanargmax(supply)]
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert first_row_id(browser_page) == ids[np.nanargmin(supply)]


def test_sorting_by_market_name_is_alphabetical(
    browser_page: BrowserPage, sample_page: Path, sample_scores: tuple[pa.Table, pa.Table]
) -> None:
    """Clicking Market sorts the names A to Z."""
    scores, _ = sample_scores
    open_page(browser_page, sample_page)
    browser_page.page.click("#markets th[data-key='market']")
    names = browser_page.page.locator("#markets tbody td.market").all_inner_texts()
    shown = [n.rsplit(None, 1)[0].lower() for n in names]  # drop the trailing msa_id
    assert shown == sorted(shown)
    assert len(shown) == scores.num_rows


def test_filter_by_name_and_by_missing_pillars(
    browser_page: BrowserPage, sample_page: Path, sample_scores: tuple[pa.Table, pa.Table]
) -> None:
    """Typing a name keeps the matching market; 'Missing pillars' keeps the markets without a composite."""
    scores, _ = sample_scores
    n = scores.num_rows
    open_page(browser_page, sample_page)
    browser_page.page.fill("#filter", "kansas")
    wait_count(browser_page, f"1\u20131 of 1 markets (filtered from {n})")
    assert "Kansas City" in browser_page.page.inner_text("#markets tbody tr:first-child")
    browser_page.page.fill("#filter", "")
    wait_count(browser_page, f"1\u2013{n} of {n} markets")
    browser_page.page.select_option("#filter-missing", "missing")
    incomplete = sum(1 for v in scores.column("missing_pillars").to_pylist() if v)
    assert incomplete > 0
    wait_count(browser_page, f"1\u2013{incomplete} of {incomplete} markets (filtered from {n})")
    assert browser_page.page.locator("#markets tbody .tag").count() == incomplete


def test_clicking_a_market_shows_its_metrics_and_fractions(
    browser_page: BrowserPage, sample_page: Path, sample_scores: tuple[pa.Table, pa.Table]
) -> None:
    """The detail panel lists every metric with the fraction the scoring function computes and the vintage."""
    scores, metrics = sample_scores
    open_page(browser_page, sample_page)
    browser_page.page.click("#markets tbody tr:nth-child(2)")
    browser_page.page.wait_for_selector("#detail.open table.metrics")
    market = browser_page.page.inner_text("#markets tbody tr:nth-child(2) td.market .id")
    assert market in browser_page.page.inner_text("#detail-title")
    row = metrics.filter(pa.compute.equal(metrics.column("msa_id"), market)).to_pylist()[0]
    shown = browser_page.page.locator("#detail tr[data-metric]")
    assert shown.count() == len(RULES)
    for rule in RULES:
        value = row[rule.metric]
        cell = browser_page.page.inner_text(f"#detail tr[data-metric='{rule.metric}'] td.fraction")
        if value is None:
            assert cell == "\u2014"
            continue
        expected = metric_fraction(rule, np.array([float(value)]))[0]
        # Shown to 3 decimals: within half a thousandth of the scoring function's fraction.
        assert float(cell) == pytest.approx(expected, abs=5e-4 + 1e-12), rule.metric
    vintage = scores.filter(pa.compute.equal(scores.column("msa_id"), market)).column("supply_vintage")[0].as_py()
    assert f"vintage {vintage.isoformat()}" in browser_page.page.inner_text("#detail .pillar-block")
    browser_page.page.keyboard.press("Escape")
    browser_page.page.wait_for_selector("#detail:not(.open)", state="attached")


def test_keyboard_opens_a_market(browser_page: BrowserPage, sample_page: Path) -> None:
    """A focused row opens with Enter, and Escape closes the panel."""
    open_page(browser_page, sample_page)
    browser_page.page.focus("#markets tbody tr:first-child")
    browser_page.page.keyboard.press("Enter")
    browser_page.page.wait_for_selector("#detail.open table.metrics")
    assert first_row_id(browser_page) in browser_page.page.inner_text("#detail-title")
    browser_page.page.keyboard.press("Escape")
    assert browser_page.page.get_attribute("#detail", "aria-hidden") == "true"


def test_a_first_run_without_names_or_history_renders(
    browser_page: BrowserPage, tmp_path: Path, sample_scores: tuple[pa.Table, pa.Table]
) -> None:
    """No names, no earlier as_of, no vintages, no metrics: the page still loads cleanly and says so."""
    scores, _ = sample_scores
    for name in ("name", "rank_change", "supply_vintage"):
        index = scores.column_names.index(name)
        scores = scores.set_column(index, name, pa.nulls(scores.num_rows, scores.schema.field(name).type))
    path = tmp_path / "bare.html"
    path.write_text(render_scorecard(scores), encoding="utf-8")
    open_page(browser_page, path)
    assert browser_page.errors == [] and browser_page.warnings == []
    assert "no earlier as_of" in browser_page.page.inner_text("#chart-movers")
    assert first_row_id(browser_page) == scores.column("msa_id")[0].as_py()
    browser_page.page.click("#markets tbody tr:first-child")
    browser_page.page.wait_for_selector("#detail.open")
    assert "No metrics were embedded" in browser_page.page.inner_text("#detail-body")
    assert "vintage no data" in browser_page.page.inner_text("#detail-body")


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_screenshots_are_written(browser_page: BrowserPage, sample_page: Path, tmp_path: Path) -> None:
    """A full-page screenshot and one with a market's detail open land in the test's tmp dir."""
    open_page(browser_page, sample_page)
    page_png = browser_page.screenshot(tmp_path / "scorecard.png")
    browser_page.page.click("#markets tbody tr:first-child")
    browser_page.page.wait_for_selector("#detail.open table.metrics")
    browser_page.page.wait_for_timeout(300)  # the drawer slides in over 0.18 s
    detail_png = browser_page.screenshot(tmp_path / "scorecard-detail.png", full_page=False)
    width, height = _png_size(page_png)
    assert width == 1440 and height > 2000  # header, table, three rows of charts
    assert _png_size(detail_png) == (1440, 1000)


@pytest.mark.slow
def test_a_100k_market_page_loads_and_responds(browser_page: BrowserPage, tmp_path: Path) -> None:
    """100k markets: the page loads from disk, pages through the table, filters and opens a market."""
    scores, metrics = build_scores(generate(100_000, 2, seed=3), dt.date(2024, 6, 1), dt.date(2024, 1, 15))
    path = tmp_path / "scorecard-100k.html"
    path.write_text(render_scorecard(scores, metrics=metrics), encoding="utf-8")
    open_page(browser_page, path, timeout_ms=180_000)
    assert browser_page.errors == []
    assert browser_page.page.inner_text("#count") == "1\u201350 of 100,000 markets"
    assert browser_page.page.locator("#markets tbody tr").count() == 50
    browser_page.page.click("#next")
    wait_count(browser_page, "51\u2013100 of 100,000 markets")
    browser_page.page.fill("#filter", "S0099999")
    wait_count(browser_page, "1\u20131 of 1 markets (filtered from 100,000)")
    browser_page.page.click("#markets tbody tr:first-child")
    browser_page.page.wait_for_selector("#detail.open table.metrics", timeout=30_000)
    assert "S0099999" in browser_page.page.inner_text("#detail-title")
    assert browser_page.requests == [path.as_uri()]
