"""Regenerate docs/scorecard.png: the bundled sample's scorecard as of 2024-06-01, in headless Chromium.

Run from the repository root: ``.venv/bin/python docs/scorecard_screenshot.py``. Needs Debian's
``chromium`` and Playwright (the ``test`` extra). The table is filtered to the California markets
so that the header, the table and the first two rows of charts fit one image.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aker_core.report import ScorecardMeta, render_scorecard  # noqa: E402
from aker_core.sources import DATASETS, SAMPLE_DIR, content_hash, dataset_path, read_dataset  # noqa: E402
from tests.core.report.scores_fixture import build_scores  # noqa: E402

AS_OF, PREVIOUS = dt.date(2024, 6, 1), dt.date(2023, 12, 31)
RUN_ID = "3f6c2a9e-8d41-4b7a-9c55-1e2f0a7b6d84"  # a fixed example run id, so the image is stable


def main() -> None:
    """Render the sample scorecard and screenshot it to docs/scorecard.png."""
    from playwright.sync_api import sync_playwright

    tables = {d: read_dataset(d, dataset_path(SAMPLE_DIR, d)) for d in DATASETS}
    scores, metrics = build_scores(tables, AS_OF, PREVIOUS, run_id=RUN_ID)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    hashes = {d: content_hash(dataset_path(SAMPLE_DIR, d)) for d in DATASETS}
    page = render_scorecard(
        scores, metrics=metrics, meta=ScorecardMeta(git_sha=sha, source_hashes=hashes, previous_as_of=PREVIOUS)
    )
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        path = Path(tmp) / "scorecard.html"
        path.write_text(page, encoding="utf-8")
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        tab = browser.new_page(viewport={"width": 1280, "height": 800})
        tab.goto(path.as_uri())
        tab.wait_for_selector("body[data-ready='1']")
        tab.fill("#filter", ", CA")
        tab.wait_for_function("() => document.getElementById('count').textContent.includes('filtered')")
        box = tab.locator("#sec-ranking").bounding_box()
        assert box is not None
        out = ROOT / "docs" / "scorecard.png"
        tab.screenshot(
            path=str(out), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": box["y"] + box["height"] + 12}
        )
        browser.close()
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
