"""The scorecard's charts as Vega-Lite specifications, and the Vega JavaScript embedded with them.

Vega-Lite was chosen over Plotly (see the commit introducing this module): its whole runtime
(Vega, Vega-Lite, vega-embed) is ~0.9 MB of inline JavaScript against ~4.8 MB for plotly.js,
renders SVG (crisp when printed, countable marks in tests) and a chart is a small JSON document
built here from :mod:`aker_core.report.aggregate` rows -- never per-market data, so a chart costs
the same at 40 markets and at 100k. ``vl-convert-python`` ships that runtime offline as one
bundle (:func:`vega_bundle`), so the page makes no network request.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aker_core.config import PILLARS
from aker_core.report import aggregate
from aker_core.report.contract import Scores

__all__ = ["PILLAR_COLORS", "chart_specs", "vega_bundle"]

#: One colour per pillar, used by every chart and the table (colour-blind safe, Tableau 10).
PILLAR_COLORS: dict[str, str] = {"supply": "#4e79a7", "jobs": "#f28e2b", "urban": "#59a14f", "outdoor": "#b07aa1"}
_ACCENT = "#2f5d8a"
_UP, _DOWN = "#2e7d32", "#c62828"
#: Pixels per market in the bar charts with one bar per market.
_ROW_HEIGHT = 16

Spec = dict[str, Any]

_PILLAR_SCALE = {"domain": list(PILLARS), "range": [PILLAR_COLORS[p] for p in PILLARS]}


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one script defining ``window.vegaEmbed`` (built once per process)."""
    import vl_convert

    # The snippet is the bundle's entry point: all the page needs is vegaEmbed on window.
    return str(vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;"))


def _composite_histogram(scores: Scores) -> Spec:
    rows = aggregate.histogram(scores.composite, 0.0, 100.0, aggregate.COMPOSITE_BINS)
    return {
        "data": {"values": rows},
        "mark": {"type": "bar", "color": _ACCENT, "binSpacing": 1},
        "encoding": {
            "x": {
                "field": "start",
                "bin": {"binned": True, "step": 100 / aggregate.COMPOSITE_BINS},
                "type": "quantitative",
                "title": "Composite score (0-100)",
                "scale": {"domain": [0, 100]},
                # One label per 10 points: the binned default labels every 5-point edge, which
                # collide at the right end on a narrow card.
                "axis": {"values": list(range(0, 101, 10))},
            },
            "x2": {"field": "end"},
            "y": {"field": "count", "type": "quantitative", "title": "Markets"},
            "tooltip": [
                {"field": "start", "title": "from", "type": "quantitative"},
                {"field": "end", "title": "to", "type": "quantitative"},
                {"field": "count", "title": "markets", "type": "quantitative", "format": ","},
            ],
        },
        "width": "container",
        "height": 220,
    }


def _pillar_histograms(scores: Scores) -> Spec:
    return {
        "data": {"values": aggregate.pillar_histograms(scores)},
        "facet": {"field": "pillar", "type": "nominal", "sort": list(PILLARS), "title": None},
        "columns": 2,
        "spec": {
            "mark": {"type": "bar", "binSpacing": 1},
            "encoding": {
                "x": {
                    "field": "start",
                    "bin": {"binned": True, "step": 5 / aggregate.PILLAR_BINS},
                    "type": "quantitative",
                    "title": "Pillar score (0-5)",
                    "scale": {"domain": [0, 5]},
                },
                "x2": {"field": "end"},
                "y": {"field": "count", "type": "quantitative", "title": "Markets"},
                "color": {"field": "pillar", "type": "nominal", "scale": _PILLAR_SCALE, "legend": None},
                "tooltip": [
                    {"field": "pillar"},
                    {"field": "start", "title": "from", "type": "quantitative"},
                    {"field": "end", "title": "to", "type": "quantitative"},
                    {"field": "count", "title": "markets", "type": "quantitative", "format": ","},
                ],
            },
            "width": 210,
            "height": 78,
        },
        "resolve": {"scale": {"y": "independent"}},
    }


def _contributions(rows: aggregate.Rows, title: str) -> Spec:
    return {
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {
                "field": "market",
                "type": "nominal",
                "sort": {"field": "rank", "order": "ascending"},
                "title": None,
                "axis": {"labelLimit": 230},
            },
            "x": {"field": "contribution", "type": "quantitative", "stack": "zero", "title": title},
            "color": {"field": "pillar", "type": "nominal", "scale": _PILLAR_SCALE, "title": "Pillar"},
            "order": {"field": "pillar_order", "type": "quantitative"},
            "tooltip": [
                {"field": "market"},
                {"field": "rank", "type": "quantitative"},
                {"field": "composite", "type": "quantitative", "title": "composite (0-100)"},
                {"field": "pillar"},
                {"field": "score", "type": "quantitative", "title": "pillar score (0-5)"},
                {"field": "weight", "type": "quantitative"},
                {"field": "contribution", "type": "quantitative", "title": "20 x weight x score"},
            ],
        },
        "transform": [{"calculate": f"indexof({list(PILLARS)!r}, datum.pillar)", "as": "pillar_order"}],
        "width": "container",
        # A fixed height, not {"step": ...}: a "container" width means autosize "fit", which
        # drops (with a console warning) a stepped height.
        "height": _ROW_HEIGHT * len({r["market"] for r in rows}),
    }


def _movers(rows: aggregate.Rows) -> Spec:
    return {
        "data": {"values": rows},
        "encoding": {
            "y": {
                "field": "market",
                "type": "nominal",
                "sort": {"field": "change", "order": "descending"},
                "title": None,
                "axis": {"labelLimit": 230},
            },
            "x": {"field": "change", "type": "quantitative", "title": "Rank change (positive = moved up)"},
        },
        "layer": [
            {
                "mark": {"type": "bar"},
                "encoding": {
                    "color": {
                        "field": "direction",
                        "type": "nominal",
                        "scale": {"domain": ["up", "down"], "range": [_UP, _DOWN]},
                        "legend": None,
                    },
                    "tooltip": [
                        {"field": "market"},
                        {"field": "rank", "type": "quantitative", "title": "rank now"},
                        {"field": "change", "type": "quantitative", "title": "places moved"},
                    ],
                },
            },
        ],
        "width": "container",
        # A fixed height, not {"step": ...}: a "container" width means autosize "fit", which
        # drops (with a console warning) a stepped height.
        "height": _ROW_HEIGHT * len({r["market"] for r in rows}),
    }


def _sensitivity(rows: aggregate.Rows) -> Spec:
    y = {
        "field": "market",
        "type": "nominal",
        "sort": {"field": "configured", "order": "ascending"},
        "title": None,
        "axis": {"labelLimit": 230},
    }
    return {
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "rule", "color": "#9aa5b1", "strokeWidth": 2},
                "encoding": {"y": y, "x": {"field": "configured", "type": "quantitative"}, "x2": {"field": "equal"}},
            },
            {
                "transform": [{"fold": ["configured", "equal"], "as": ["weights", "rank"]}],
                "mark": {"type": "point", "filled": True, "size": 70, "opacity": 1},
                "encoding": {
                    "y": y,
                    "x": {
                        "field": "rank",
                        "type": "quantitative",
                        "title": "Rank (1 = best)",
                        "scale": {"zero": False},
                    },
                    "color": {
                        "field": "weights",
                        "type": "nominal",
                        "title": "Weights",
                        "scale": {"domain": ["configured", "equal"], "range": [_ACCENT, "#e8a33d"]},
                    },
                    "tooltip": [{"field": "market"}, {"field": "weights"}, {"field": "rank", "type": "quantitative"}],
                },
            },
        ],
        "width": "container",
        # A fixed height, not {"step": ...}: a "container" width means autosize "fit", which
        # drops (with a console warning) a stepped height.
        "height": _ROW_HEIGHT * len({r["market"] for r in rows}),
    }


def chart_specs(scores: Scores, top: int = 20, movers: int = 10) -> dict[str, Spec | None]:
    """Every chart of the page by element id; ``None`` where there is nothing to draw.

    Args:
        scores: the checked scores.
        top: markets in the top/bottom contribution charts and the sensitivity chart.
        movers: markets moving up (and down) in the movers chart.
    """
    parts = aggregate.contributions(scores, top)
    moved = aggregate.movers(scores, movers)
    sensitivity = aggregate.sensitivity(scores, top)
    return {
        "chart-composite": _composite_histogram(scores),
        "chart-pillars": _pillar_histograms(scores),
        "chart-top": _contributions(parts["top"], "Contribution to the composite (0-100)") if parts["top"] else None,
        "chart-bottom": _contributions(parts["bottom"], "Contribution to the composite (0-100)")
        if parts["bottom"]
        else None,
        "chart-movers": _movers(moved) if moved else None,
        "chart-sensitivity": _sensitivity(sensitivity) if sensitivity else None,
    }
