"""The chart data: small aggregates of the scores, so every chart stays a few hundred points at any size.

Each function takes the checked :class:`~aker_core.report.contract.Scores` and returns plain rows
(lists of dicts) ready for a Vega-Lite ``data.values``: histograms (fixed bins), the top and
bottom markets with their pillar contributions, the biggest rank movers and the rank of the top
markets under equal weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aker_core.config import PILLARS
from aker_core.report.contract import Scores

__all__ = ["competition_rank", "contributions", "histogram", "movers", "pillar_histograms", "sensitivity"]

#: Bins of the composite (0-100) and pillar (0-5) histograms: 20 equal bins each.
COMPOSITE_BINS = 20
PILLAR_BINS = 20

Rows = list[dict[str, Any]]


def histogram(values: np.ndarray, low: float, high: float, bins: int) -> Rows:
    """Counts of the finite ``values`` in ``bins`` equal bins over ``[low, high]`` (last bin closed).

    Returns:
        ``{"start", "end", "count"}`` per bin, empty bins included (the axis stays fixed).
    """
    finite = values[np.isfinite(values)]
    counts, edges = np.histogram(np.clip(finite, low, high), bins=bins, range=(low, high))
    return [
        {"start": round(float(edges[i]), 6), "end": round(float(edges[i + 1]), 6), "count": int(counts[i])}
        for i in range(bins)
    ]


def pillar_histograms(scores: Scores) -> Rows:
    """:func:`histogram` of each pillar's 0-5 score, rows tagged with ``pillar``."""
    rows: Rows = []
    for pillar in PILLARS:
        rows.extend({"pillar": pillar, **row} for row in histogram(scores.pillars[pillar], 0.0, 5.0, PILLAR_BINS))
    return rows


def _label(names: list[str | None], ids: list[str | None], i: int) -> str:
    return f"{names[i] or ids[i]} ({ids[i]})" if names[i] else str(ids[i])


def contributions(scores: Scores, count: int = 20) -> dict[str, Rows]:
    """The ``count`` best and worst ranked markets, one row per (market, pillar) contribution.

    A contribution is ``20 x weight x pillar score``: on the 0-100 scale the four add up to the
    market's composite, so the stacked bar shows *why* it ranks where it does.

    Returns:
        ``{"top": rows, "bottom": rows}``; each row has ``market``, ``rank``, ``composite``,
        ``pillar``, ``score`` (0-5), ``weight`` and ``contribution`` (0-100 scale).
    """
    ranked = np.flatnonzero(scores.rank > 0)
    order = ranked[np.lexsort((ranked, scores.rank[ranked]))]
    names, ids = scores.strings("name"), scores.strings("msa_id")
    out: dict[str, Rows] = {}
    bottom = order[-count:][::-1] if len(order) > count else order[::-1]
    for key, chosen in (("top", order[:count]), ("bottom", bottom)):
        rows: Rows = []
        for i in chosen:
            for pillar in PILLARS:
                score = float(scores.pillars[pillar][i])
                weight = scores.weights[pillar]
                rows.append(
                    {
                        "market": _label(names, ids, int(i)),
                        "rank": int(scores.rank[i]),
                        "composite": round(float(scores.composite[i]), 2),
                        "pillar": pillar,
                        "score": round(score, 3),
                        "weight": round(weight, 4),
                        "contribution": round(20.0 * weight * score, 3),
                    }
                )
        out[key] = rows
    return out


def movers(scores: Scores, count: int = 10) -> Rows:
    """The ``count`` markets that moved up most and the ``count`` that moved down most.

    Returns:
        ``market``, ``rank``, ``change`` (positive = up) and ``direction`` (``up``/``down``);
        empty when no market has a known rank change (no earlier as_of).
    """
    known = np.flatnonzero(scores.has_change & (scores.rank_change != 0))
    if len(known) == 0:
        return []
    change = scores.rank_change[known]
    names, ids = scores.strings("name"), scores.strings("msa_id")
    rows: Rows = []
    # Biggest |change| first; ties by current rank, then input order: deterministic.
    up = known[np.lexsort((known, scores.rank[known], -change))]
    down = known[np.lexsort((known, scores.rank[known], change))]
    for chosen, direction in ((up, "up"), (down, "down")):
        for i in chosen[:count]:
            value = int(scores.rank_change[i])
            if (value > 0) != (direction == "up"):
                break
            rows.append(
                {
                    "market": _label(names, ids, int(i)),
                    "rank": int(scores.rank[i]),
                    "change": value,
                    "direction": direction,
                }
            )
    return rows


def competition_rank(values: np.ndarray) -> np.ndarray:
    """1 + the number of strictly larger finite values (ties share a rank); 0 where not finite."""
    finite = np.isfinite(values)
    ordered = np.sort(values[finite])
    rank = np.zeros(len(values), dtype=np.int64)
    rank[finite] = 1 + len(ordered) - np.searchsorted(ordered, values[finite], side="right")
    return rank


def sensitivity(scores: Scores, count: int = 20) -> Rows:
    """Rank of the ``count`` best markets under the configured weights and under equal weights.

    Equal weights = the mean of the four pillars, for markets with all four (as the composite).

    Returns:
        One row per market, best first: ``market``, ``configured`` (its rank) and ``equal``
        (its rank under equal weights).
    """
    stacked = np.vstack([scores.pillars[p] for p in PILLARS])
    equal = competition_rank(stacked.mean(axis=0))
    ranked = np.flatnonzero(scores.rank > 0)
    top = ranked[np.lexsort((ranked, scores.rank[ranked]))][:count]
    names, ids = scores.strings("name"), scores.strings("msa_id")
    return [
        {"market": _label(names, ids, int(i)), "configured": int(scores.rank[i]), "equal": int(equal[i])} for i in top
    ]
