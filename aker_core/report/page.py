"""The scorecard page: one self-contained HTML file from the export table (and the raw metrics).

:func:`render_scorecard` is pure -- same inputs, same bytes -- and does no I/O besides reading its
own assets (``assets/scorecard.css`` and ``assets/scorecard.js``, package data). Everything the
page needs is inline: the stylesheet, the Vega runtime (:func:`~aker_core.report.charts.vega_bundle`),
the page script and the data (:mod:`aker_core.report.payload`), so it opens from disk or an e-mail
attachment with no network. The header is plain HTML, readable even with scripts disabled.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from importlib import resources

import numpy as np
import pyarrow as pa

from aker_core.config import PILLARS
from aker_core.report.charts import PILLAR_COLORS, chart_specs, vega_bundle
from aker_core.report.contract import ScorecardMeta, check_scores
from aker_core.report.metrics import metric_payload
from aker_core.report.payload import DETAIL_CHUNK, detail_chunks, encode, table_payload

__all__ = ["render_scorecard"]


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return resources.files("aker_core.report").joinpath("assets", name).read_text(encoding="utf-8")


def _script(text: str) -> str:
    # An inline script ends at the first "</script", which can only occur inside a JS string or
    # regex literal, where "<\/" means the same.
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def _fact(label: str, value: str, code: bool = False) -> str:
    shown = f"<code>{html.escape(value)}</code>" if code else html.escape(value)
    return f'<div class="fact"><span class="label">{html.escape(label)}</span><span class="value">{shown}</span></div>'


def _header(meta: ScorecardMeta, as_of: str, run_id: str, weights: dict[str, float], counts: dict[str, int]) -> str:
    chips = "".join(
        f'<span class="chip" style="--c:{PILLAR_COLORS[p]}"><i></i>{html.escape(p)} {weights[p]:.0%}</span>'
        for p in PILLARS
    )
    hashes = "".join(
        f"<tr><td>{html.escape(name)}</td><td><code>{html.escape(value)}</code></td></tr>"
        for name, value in sorted(meta.source_hashes.items())
    )
    sources = (
        f'<details class="sources"><summary>Source hashes ({len(meta.source_hashes)})</summary>'
        f"<table>{hashes}</table></details>"
        if hashes
        else '<span class="muted">no source hashes recorded</span>'
    )
    previous = meta.previous_as_of.isoformat() if meta.previous_as_of else "none"
    kpis = "".join(
        f'<div class="kpi" id="kpi-{key}"><div class="num">{value:,}</div>'
        f'<div class="cap">{html.escape(cap)}</div></div>'
        for key, value, cap in (
            ("markets", counts["markets"], "markets"),
            ("scored", counts["scored"], "with a composite"),
            ("missing", counts["missing"], "with missing pillars"),
            ("moved", counts["moved"], "changed rank"),
        )
    )
    return f"""<header class="top">
  <div class="title-row">
    <div><h1>{html.escape(meta.title)}</h1>
      <div class="subtitle">as of <strong id="as-of">{html.escape(as_of)}</strong>
        &middot; compared with {html.escape(previous)}</div></div>
    <div class="weights" id="weights"><span class="label">Weights</span>{chips}</div>
  </div>
  <div class="kpis">{kpis}</div>
  <div class="facts">
    {_fact("Run id", run_id, code=True)}
    {_fact("Git sha", meta.git_sha or "unknown", code=True)}
    <div class="fact"><span class="label">Sources</span><span class="value">{sources}</span></div>
  </div>
</header>"""


_BODY = """<noscript><p class="noscript">The table, charts and market detail need JavaScript (inline in this file,
no network). The header above is the run's provenance.</p></noscript>
<nav class="tabs">
  <a href="#sec-markets">Markets</a><a href="#sec-distributions">Distributions</a>
  <a href="#sec-ranking">Top &amp; bottom</a><a href="#sec-movers">Movers &amp; sensitivity</a>
</nav>
<main>
<section id="sec-markets" class="card">
  <div class="card-head"><h2>Markets</h2>
    <div class="toolbar">
      <input id="filter" type="search" placeholder="Filter by market name or id" aria-label="Filter markets">
      <select id="filter-missing" aria-label="Pillar completeness">
        <option value="all">All markets</option><option value="complete">All four pillars</option>
        <option value="missing">Missing pillars</option>
      </select>
    </div>
  </div>
  <div class="table-wrap"><table id="markets"><thead></thead><tbody></tbody></table></div>
  <div class="pager"><span id="count" class="muted"></span>
    <span class="pager-buttons"><button id="prev" type="button">&lsaquo; Prev</button>
    <span id="page"></span><button id="next" type="button">Next &rsaquo;</button></span></div>
  <p class="hint">Click a column to sort, a market to see its metrics. Pillars 0-5, composite 0-100.</p>
</section>
<section id="sec-distributions" class="grid2">
  <div class="card"><h2>Composite distribution</h2><div class="chart" id="chart-composite"></div></div>
  <div class="card"><h2>Pillar distributions</h2><div class="chart" id="chart-pillars"></div></div>
</section>
<section id="sec-ranking" class="grid2">
  <div class="card"><h2>Top 20 &mdash; pillar contributions</h2><div class="chart" id="chart-top"></div></div>
  <div class="card"><h2>Bottom 20 &mdash; pillar contributions</h2><div class="chart" id="chart-bottom"></div></div>
</section>
<section id="sec-movers" class="grid2">
  <div class="card"><h2>Biggest rank movers$SINCE</h2><div class="chart" id="chart-movers"></div></div>
  <div class="card"><h2>Weight sensitivity &mdash; top 20, configured vs equal weights</h2>
    <div class="chart" id="chart-sensitivity"></div></div>
</section>
</main>
<aside id="detail" aria-hidden="true"><div class="detail-head"><div id="detail-title"></div>
  <button id="detail-close" type="button" aria-label="Close">&times;</button></div>
  <div id="detail-body"></div></aside>
<footer>Generated by aker from run <code>$RUN</code>. Scores are the published export; metric fractions are
computed by the scoring rules (aker_core/scoring/rules.py).</footer>"""


def render_scorecard(scores: pa.Table, *, metrics: pa.Table | None = None, meta: ScorecardMeta | None = None) -> str:
    """The HTML scorecard of one published as_of, as one self-contained page.

    Args:
        scores: the stable export table (columns :data:`~aker_core.report.contract.SCORE_COLUMNS`),
            one row per market, one as_of/weights/run.
        metrics: ``msa_id`` + the raw metric columns the scores came from, one row per market
            (see :func:`~aker_core.report.metrics.join_metrics`); ``None`` shows no metrics.
        meta: git sha, source hashes and the previous as_of for the header.

    Returns:
        The page as a string (UTF-8 when written).

    Raises:
        ReportError: ``scores`` or ``metrics`` does not have the documented columns.
    """
    meta = meta or ScorecardMeta()
    checked = check_scores(scores)
    missing = np.array([bool(label) for label in checked.missing_labels()], dtype=bool)
    counts = {
        "markets": checked.count,
        "scored": int(np.isfinite(checked.composite).sum()),
        "missing": int(missing.sum()),
        "moved": int((checked.has_change & (checked.rank_change != 0)).sum()),
    }
    as_of = checked.as_of.isoformat()
    detail = metric_payload(scores.column("msa_id"), metrics)
    chunks = detail_chunks({"values": detail["values"], "fractions": detail["fractions"]}, checked.count)
    data = encode(
        {
            "table": table_payload(checked),
            "rules": detail["rules"],
            "metrics": list(detail["values"]),
            "detail_chunk": DETAIL_CHUNK,
            "charts": chart_specs(checked),
            "colors": PILLAR_COLORS,
            "pillars": list(PILLARS),
            "weights": checked.weights,
        }
    )
    title = f"{meta.title} - {as_of}"
    since = f" since {meta.previous_as_of.isoformat()}" if meta.previous_as_of else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_asset('scorecard.css')}</style>",
        "</head><body>",
        _header(meta, as_of, checked.run_id, checked.weights, counts),
        _BODY.replace("$RUN", html.escape(checked.run_id)).replace("$SINCE", since),
        f'<script type="application/octet-stream" id="scorecard-data">{data}</script>',
        *(
            f'<script type="application/octet-stream" id="scorecard-detail-{k}">{chunk}</script>'
            for k, chunk in enumerate(chunks)
        ),
        f"<script>{_script(vega_bundle())}</script>",
        f"<script>{_script(_asset('scorecard.js'))}</script>",
        "</body></html>",
        "",
    ]
    return "\n".join(parts)
