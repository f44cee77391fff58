"""The page as a file: self-contained, deterministic, header facts present and escaped."""

from __future__ import annotations

import base64
import gzip
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from aker_core.report import ReportError, ScorecardMeta, render_scorecard
from tests.core.report.conftest import PREVIOUS

ROOT = Path(__file__).resolve().parents[3]
META = ScorecardMeta(git_sha="feedc0de" * 5, source_hashes={"market_jobs": "ab12cd34ef56"}, previous_as_of=PREVIOUS)


def embedded(page: str, element: str) -> dict[str, object]:
    """The JSON inside one of the page's base64 gzip data elements."""
    match = re.search(rf'<script type="application/octet-stream" id="{element}">([^<]*)</script>', page)
    assert match, element
    return dict(orjson.loads(gzip.decompress(base64.b64decode(match.group(1)))))


def test_page_references_nothing_outside_itself(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """The markup loads no script, stylesheet, image or font from a URL: everything is inline.

    (Script bodies are left out here -- the Vega runtime holds such strings for features the page
    does not use; the browser test proves no request is made.)"""
    scores, metrics = sample_scores
    page = re.sub(
        r"(<script[^>]*>).*?</script>", r"\1</script>", render_scorecard(scores, metrics=metrics, meta=META), flags=re.S
    )
    assert page.count("<script") == 4  # data, one detail chunk, the Vega runtime, the page script
    assert not re.search(r"<(script|img|iframe)[^>]*\bsrc=", page, re.IGNORECASE)
    assert not re.search(r"<link\b", page, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", page, re.IGNORECASE)
    assert not re.search(r"@import", page)


def test_same_inputs_give_the_same_bytes(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """Rendering twice yields identical pages (no timestamp, deterministic compression)."""
    scores, metrics = sample_scores
    assert render_scorecard(scores, metrics=metrics, meta=META) == render_scorecard(scores, metrics=metrics, meta=META)


def test_header_shows_provenance_and_counts(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """as_of, weights, run id, git sha, source hashes and market counts are in the plain HTML header."""
    scores, metrics = sample_scores
    page = render_scorecard(scores, metrics=metrics, meta=META)
    header = page[page.index('<header class="top">') : page.index("</header>")]
    incomplete = sum(1 for v in scores.column("missing_pillars").to_pylist() if v)
    for text in ("2024-06-01", "2023-12-31", "run-test", "feedc0de", "market_jobs", "ab12cd34ef56", "supply 30%"):
        assert text in header, text
    assert f'<div class="kpi" id="kpi-markets"><div class="num">{scores.num_rows}</div>' in header
    assert f'<div class="kpi" id="kpi-missing"><div class="num">{incomplete}</div>' in header


def test_market_names_cannot_inject_markup(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """A market name with markup travels as data, never as page HTML."""
    scores, metrics = sample_scores
    names = scores.column("name").to_pylist()
    names[0] = "</script><script>alert(1)</script>"
    page = render_scorecard(scores.set_column(2, "name", pa.array(names, pa.string())), metrics=metrics, meta=META)
    assert "<script>alert(1)" not in page
    assert embedded(page, "scorecard-data")["table"]["names"][0] == names[0]  # type: ignore[index]


def test_without_metrics_the_detail_has_none(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """metrics=None renders the page with the rules but no metric values."""
    scores, _ = sample_scores
    data = embedded(render_scorecard(scores, meta=META), "scorecard-data")
    assert data["metrics"] == [] and len(data["rules"]) > 0  # type: ignore[arg-type]
    assert embedded(render_scorecard(scores, meta=META), "scorecard-detail-0") == {"values": {}, "fractions": {}}


def test_bad_scores_fail_with_a_report_error(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """A table that is not the export's fails with one ReportError line naming the column."""
    scores, _ = sample_scores
    with pytest.raises(ReportError, match="weighted_0_100"):
        render_scorecard(scores.drop_columns(["weighted_0_100"]))


def test_page_assets_ship_in_the_wheel() -> None:
    """The stylesheet and page script are declared package data, so an installed aker can render."""
    import fnmatch
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as f:
        globs = tomllib.load(f)["tool"]["setuptools"]["package-data"]["aker_core.report"]
    assets = sorted((ROOT / "aker_core" / "report" / "assets").iterdir())
    assert [a.name for a in assets] == ["scorecard.css", "scorecard.js"]
    assert all(any(fnmatch.fnmatch(f"assets/{a.name}", g) for g in globs) for a in assets)


def test_separate_processes_render_the_same_bytes(tmp_path: Path) -> None:
    """Two fresh processes (each building the Vega bundle anew) write byte-identical pages."""
    script = (
        "import sys, datetime as dt\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from aker_core.report import render_scorecard\n"
        "from tests.core.report.conftest import AS_OF, PREVIOUS\n"
        "from tests.core.report.scores_fixture import build_scores\n"
        "from aker_core.sources import DATASETS, SAMPLE_DIR, dataset_path, read_dataset\n"
        "tables = {d: read_dataset(d, dataset_path(SAMPLE_DIR, d)) for d in DATASETS}\n"
        "scores, metrics = build_scores(tables, AS_OF, PREVIOUS)\n"
        "open(sys.argv[1], 'w', encoding='utf-8').write(render_scorecard(scores, metrics=metrics))\n"
    )
    pages = [tmp_path / "a.html", tmp_path / "b.html"]
    for page in pages:
        subprocess.run([sys.executable, "-c", script, str(page)], check=True, timeout=300)
    assert pages[0].read_bytes() == pages[1].read_bytes()
