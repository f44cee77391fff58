"""The HTML scorecard: one self-contained page from a published export table.

Typical use::

    from aker_core.report import ScorecardMeta, join_metrics, render_scorecard

    page = render_scorecard(scores, metrics=join_metrics(fetched), meta=ScorecardMeta(git_sha=sha))
    Path("scorecard.html").write_text(page, encoding="utf-8")

Modules: :mod:`~aker_core.report.contract` (the input columns), :mod:`~aker_core.report.aggregate`
(chart data), :mod:`~aker_core.report.charts` (Vega-Lite specs), :mod:`~aker_core.report.metrics`
(per-market metrics and fractions), :mod:`~aker_core.report.payload` (embedded data) and
:mod:`~aker_core.report.page` (the page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aker_core.lazy import lazy_exports

if TYPE_CHECKING:  # real imports for type checkers; at run time names load on first use
    from aker_core.report.contract import SCORE_COLUMNS, ReportError, ScorecardMeta
    from aker_core.report.metrics import join_metrics, read_metrics
    from aker_core.report.page import render_scorecard

_EXPORTS = {
    "SCORE_COLUMNS": "aker_core.report.contract",
    "ReportError": "aker_core.report.contract",
    "ScorecardMeta": "aker_core.report.contract",
    "join_metrics": "aker_core.report.metrics",
    "read_metrics": "aker_core.report.metrics",
    "render_scorecard": "aker_core.report.page",
}
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = ["SCORE_COLUMNS", "ReportError", "ScorecardMeta", "join_metrics", "read_metrics", "render_scorecard"]
