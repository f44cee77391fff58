"""MarketScore: the per-market result returned by the service and the composer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = ["MarketScore", "scores_from_table"]


@dataclass(frozen=True, slots=True)
class MarketScore:
    """Scores of one market as of one date.

    Attributes:
        msa_id: the market.
        as_of: the as-of date scored.
        supply_0_5: supply pillar 0-5, ``None`` when no supply metric was present.
        jobs_0_5: jobs pillar 0-5 or ``None``.
        urban_0_5: urban pillar 0-5 or ``None``.
        outdoor_0_5: outdoor pillar 0-5 or ``None``.
        weighted_0_5: weighted composite 0-5, ``None`` unless all four pillars are present.
        weighted_0_100: ``20 * weighted_0_5`` or ``None``.
        missing_pillars: the absent pillars in canonical order (empty when complete).
        weights: the normalised weights used.
        run_id: the run that computed the pillar scores, if recorded.
    """

    msa_id: str
    as_of: dt.date
    supply_0_5: float | None
    jobs_0_5: float | None
    urban_0_5: float | None
    outdoor_0_5: float | None
    weighted_0_5: float | None
    weighted_0_100: float | None
    missing_pillars: tuple[str, ...]
    weights: dict[str, float]
    run_id: str | None

    @property
    def complete(self) -> bool:
        """Whether all four pillars are present (so the composite exists)."""
        return not self.missing_pillars


def scores_from_table(
    table: pa.Table, *, as_of: dt.date, weights: dict[str, float], run_ids: list[Any] | None = None
) -> list[MarketScore]:
    """Convert a :func:`~aker_core.scoring.compose` table to :class:`MarketScore` objects, in row order."""
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    n = table.num_rows
    runs = run_ids if run_ids is not None else [None] * n
    return [
        MarketScore(
            msa_id=m,
            as_of=as_of,
            supply_0_5=s,
            jobs_0_5=j,
            urban_0_5=u,
            outdoor_0_5=o,
            weighted_0_5=w5,
            weighted_0_100=w100,
            missing_pillars=tuple(mp.split(",")) if mp else (),
            weights=weights,
            run_id=r,
        )
        for m, s, j, u, o, w5, w100, mp, r in zip(
            cols["msa_id"],
            cols["supply_0_5"],
            cols["jobs_0_5"],
            cols["urban_0_5"],
            cols["outdoor_0_5"],
            cols["weighted_0_5"],
            cols["weighted_0_100"],
            cols["missing_pillars"],
            runs,
            strict=True,
        )
    ]
