"""Chart aggregates: fixed-bin histograms, contributions that add up, movers, equal-weight ranks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from aker_core.report import aggregate
from aker_core.report.contract import check_scores


def test_histogram_counts_every_finite_value_once() -> None:
    """Bins cover the range with the top edge included; NaN is left out, values beyond clamp in."""
    values = np.array([0.0, 0.1, 2.5, 5.0, np.nan, 7.0, -1.0])
    rows = aggregate.histogram(values, 0.0, 5.0, 5)
    assert [r["count"] for r in rows] == [3, 0, 1, 0, 2]
    assert rows[0]["start"] == 0.0 and rows[-1]["end"] == 5.0


def test_competition_rank_ties_share_a_rank() -> None:
    """Equal values share the best rank, the next value skips; NaN gets no rank (0)."""
    ranks = aggregate.competition_rank(np.array([3.0, 5.0, 3.0, np.nan, 1.0]))
    assert list(ranks) == [2, 1, 2, 0, 4]


def test_contributions_add_up_to_the_composite(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """Each top/bottom market's four contributions sum to its 0-100 composite; top holds ranks 1-20."""
    scores, _ = sample_scores
    parts = aggregate.contributions(check_scores(scores), 20)
    for key in ("top", "bottom"):
        by_market: dict[str, list[dict[str, object]]] = {}
        for row in parts[key]:
            by_market.setdefault(str(row["market"]), []).append(row)
        assert len(by_market) == 20
        for rows in by_market.values():
            assert sum(float(r["contribution"]) for r in rows) == pytest.approx(float(rows[0]["composite"]), abs=0.02)
    assert sorted({int(r["rank"]) for r in parts["top"]}) == list(range(1, 21))


def test_movers_are_the_biggest_changes_each_way(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """Movers up are the largest positive rank changes, movers down the most negative, biggest first."""
    scores, _ = sample_scores
    rows = aggregate.movers(check_scores(scores), 3)
    changes = sorted((c for c in scores.column("rank_change").to_pylist() if c), reverse=True)
    assert [r["change"] for r in rows if r["direction"] == "up"] == changes[:3]
    assert [r["change"] for r in rows if r["direction"] == "down"] == sorted(changes)[:3]


def test_no_earlier_as_of_means_no_movers(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """Without rank changes (no earlier as_of) the movers chart has nothing to draw."""
    scores, _ = sample_scores
    index = scores.column_names.index("rank_change")
    fresh = scores.set_column(index, "rank_change", pa.nulls(scores.num_rows, pa.int32()))
    assert aggregate.movers(check_scores(fresh)) == []


def test_sensitivity_ranks_by_the_mean_of_the_pillars(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """Under equal weights a market's rank is its place by the plain mean of its four pillars."""
    scores, _ = sample_scores
    rows = aggregate.sensitivity(check_scores(scores), 5)
    assert [r["configured"] for r in rows] == [1, 2, 3, 4, 5]
    pillars = np.array(
        [[np.nan if v is None else v for v in scores.column(f"{p}_0_5").to_pylist()] for p in aggregate.PILLARS]
    )
    mean = pillars.mean(axis=0)
    first = 0  # the table is in rank order; row 0 is rank 1
    assert rows[0]["equal"] == 1 + int(np.sum(mean[np.isfinite(mean)] > mean[first]))
