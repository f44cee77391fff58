"""Pillar scores: every metric to a 0-1 fraction by :data:`~aker_core.scoring.rules.RULES`, then 5 x mean.

The arithmetic is vectorised over markets with numpy: one pass per metric, accumulating a sum
and a count of present values, so memory stays O(markets) whatever the number of metrics and
the summation order (table order) is fixed, which keeps results bit-identical across runs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from aker_core.exceptions import ScoringError
from aker_core.scoring.arrowutil import as_float64, is_sorted_unique, sort_by_msa_id
from aker_core.scoring.rules import PILLARS, RULES_BY_PILLAR, MetricRule

__all__ = ["metric_fraction", "score_pillar"]


def metric_fraction(rule: MetricRule, values: np.ndarray) -> np.ndarray:
    """The 0-1 fraction of ``values`` under ``rule``; NaN (missing) stays NaN.

    Args:
        rule: the metric's rule.
        values: float64 values (flags as 1.0/0.0), NaN where missing.
    """
    if rule.kind == "flag":
        fraction = (values != 0.0).astype(np.float64)
        fraction[np.isnan(values)] = np.nan
        return fraction
    # In-place arithmetic: this runs once per metric over every market, so temporaries matter.
    lower = rule.kind == "lower"
    fraction = np.subtract(rule.high, values) if lower else np.subtract(values, rule.low)
    fraction /= rule.high - rule.low
    # maximum/minimum propagate NaN, so a missing value stays missing through the clamp.
    np.maximum(fraction, 0.0, out=fraction)
    np.minimum(fraction, 1.0, out=fraction)
    return fraction


def score_pillar(pillar: str, table: pa.Table) -> pa.Table:
    """Score one pillar for every market of ``table``.

    Args:
        pillar: ``supply``, ``jobs``, ``urban`` or ``outdoor``.
        table: one row per market (already point-in-time filtered) with ``msa_id`` and the
            pillar's metric columns; other columns are ignored.

    Returns:
        Columns ``msa_id`` (string) and ``{pillar}_0_5`` (float64; null where no metric is
        present), sorted by ``msa_id``.

    Raises:
        ScoringError: unknown pillar, a missing metric column, a non-numeric metric column or
            a duplicate ``msa_id``.
    """
    if pillar not in RULES_BY_PILLAR:
        raise ScoringError(f"unknown pillar {pillar!r}; expected one of {', '.join(PILLARS)}")
    rules = RULES_BY_PILLAR[pillar]
    missing = [r.metric for r in rules if r.metric not in table.column_names]
    if missing:
        raise ScoringError(f"pillar {pillar!r}: table lacks metric column(s) {', '.join(missing)}")
    table = sort_by_msa_id(table.select(["msa_id", *(r.metric for r in rules)]))
    ids = table.column("msa_id").combine_chunks()
    if not is_sorted_unique(ids):
        raise ScoringError(f"pillar {pillar!r}: msa_id must be unique (filter to one vintage per market first)")
    total = np.zeros(table.num_rows, dtype=np.float64)
    absent = np.zeros(table.num_rows, dtype=np.int32)
    for rule in rules:
        try:
            values = as_float64(table.column(rule.metric))
        except ScoringError as e:
            raise ScoringError(f"pillar {pillar!r}, column {rule.metric!r}: {e}") from e
        fraction = metric_fraction(rule, values)
        missing = np.isnan(fraction)
        np.copyto(fraction, 0.0, where=missing)
        total += fraction
        absent += missing
    count = len(rules) - absent
    empty = count == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 5.0 * (total / count)
    score[empty] = 0.0
    return pa.table(
        {
            "msa_id": ids,
            f"{pillar}_0_5": pa.array(score, type=pa.float64(), mask=empty),
        }
    )
