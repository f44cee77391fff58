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

import lazy_loader

# The names listed in __init__.pyi load on first use (PEP 562, via scientific-python's
# lazy_loader): importing a light submodule, as a fully cached run does, loads no heavy sibling.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
