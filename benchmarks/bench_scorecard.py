"""HTML scorecard: render time and file size at 10k/100k markets, and (optionally) browser load time.

Run: ``.venv/bin/python benchmarks/bench_scorecard.py [--sizes 10000,100000] [--browser]``.
Scores come from the synthetic generator scored by the real scoring functions (as in the report
tests). ``--browser`` also opens each page in headless Chromium (``/usr/bin/chromium``) and times
until the table and charts are drawn. Prints one line per size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.core.report.scores_fixture

from aker_core.report import ScorecardMeta, render_scorecard
from aker_core.report.charts import vega_bundle
from aker_core.sample import generate

AS_OF = dt.date(2024, 6, 1)
PREVIOUS = dt.date(2024, 1, 15)


def browser_seconds(path: Path) -> float:
    """Seconds from navigation until the page reports ready (table and charts drawn)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        start = time.perf_counter()
        page.goto(path.as_uri(), timeout=300_000)
        page.wait_for_selector("body[data-ready='1']", timeout=300_000)
        seconds = time.perf_counter() - start
        browser.close()
    return seconds


def main() -> None:
    """Render a scorecard per size and print render seconds, MB and (optionally) browser seconds."""
    from tests.core.report.scores_fixture import build_scores

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--browser", action="store_true", help="also time loading each page in Chromium")
    args = parser.parse_args()
    start = time.perf_counter()
    vega_bundle()
    print(f"vega bundle (once per process): {time.perf_counter() - start:.2f} s, {len(vega_bundle()) / 1e6:.2f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            scores, metrics = build_scores(generate(size, 3, seed=1), AS_OF, PREVIOUS)
            meta = ScorecardMeta(git_sha="0" * 40, source_hashes={"market_jobs": "0" * 16}, previous_as_of=PREVIOUS)
            start = time.perf_counter()
            page = render_scorecard(scores, metrics=metrics, meta=meta)
            render = time.perf_counter() - start
            data = page.encode("utf-8")
            path = Path(tmp) / f"scorecard-{size}.html"
            path.write_bytes(data)
            line = (
                f"{size:>8,} markets: render {render:6.2f} s, file {len(data) / 1e6:6.2f} MB "
                f"(gzipped {len(gzip.compress(data)) / 1e6:5.2f} MB)"
            )
            if args.browser:
                line += f", browser ready {browser_seconds(path):6.2f} s"
            print(line, flush=True)


if __name__ == "__main__":
    main()
