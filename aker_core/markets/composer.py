"""Composing stored pillar scores with (possibly different) weights, without rescoring sources."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from aker_core.config.weights import WeightsLike, normalise_weights
from aker_core.exceptions import ScoringError
from aker_core.markets.results import MarketScore, scores_from_table
from aker_core.scoring import PILLAR_COLUMNS, compose, parse_as_of
from aker_data.models import PillarScore

__all__ = ["score", "score_many"]

#: Most ids bound into one ``IN (...)``; larger requests filter a read of the whole date instead.
IN_LIST_LIMIT = 5_000


def score_many(
    session: Session,
    msa_ids: Iterable[str] | None = None,
    *,
    as_of: object,
    weights: WeightsLike | None = None,
) -> list[MarketScore]:
    """Re-compose the stored ``pillar_scores`` of an as-of date with the given weights.

    One ``SELECT``; the composite follows :func:`aker_core.scoring.compose` (all four pillars
    required, weights validated and normalised).

    Args:
        session: session on the run database.
        msa_ids: markets to return; ``None`` = every market stored for ``as_of``.
        as_of: the stored as-of date.
        weights: ``None`` = settings weights (not the weights stored with the rows).

    Returns:
        :class:`~aker_core.markets.results.MarketScore` per market, ordered by ``msa_id``;
        ``run_id`` is the run that stored the pillar scores.

    Raises:
        ScoringError: bad ``as_of``/weights, or requested markets without stored scores.
    """
    day = parse_as_of(as_of)
    used = normalise_weights(weights)
    table = PillarScore.__table__
    query = select(table.c.msa_id, *(table.c[c] for c in PILLAR_COLUMNS), table.c.run_id).where(
        table.c.score_as_of == day
    )
    wanted = None
    if msa_ids is not None:
        wanted = sorted(set(msa_ids))
        # IN binds one variable per id and SQLite allows ~32k; past a few thousand ids, reading the
        # whole date (one indexed range) and filtering here is as cheap and has no limit.
        if len(wanted) <= IN_LIST_LIMIT:
            query = query.where(table.c.msa_id.in_(wanted))
    rows = session.execute(query.order_by(table.c.msa_id)).all()
    if wanted is not None:
        if len(wanted) > IN_LIST_LIMIT:
            keep = set(wanted)
            rows = [r for r in rows if r[0] in keep]
        found = {r[0] for r in rows}
        absent = [m for m in wanted if m not in found]
        if absent:
            raise ScoringError(
                f"no stored pillar scores as of {day} for {len(absent)} market(s): "
                + ", ".join(repr(m) for m in absent[:5])
                + " (run PillarScoreService.refresh_many first)"
            )
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in range(len(PILLAR_COLUMNS) + 2)]
    pillars = pa.table(
        {
            "msa_id": pa.array(columns[0], pa.string()),
            **{c: pa.array(columns[i + 1], pa.float64()) for i, c in enumerate(PILLAR_COLUMNS)},
        }
    )
    composed = compose(pillars, used)
    run_ids = pc.cast(pa.array(columns[-1], pa.string()), pa.string()).to_pylist()
    return scores_from_table(composed, as_of=day, weights=used, run_ids=run_ids)


def score(session: Session, msa_id: str, *, as_of: object, weights: WeightsLike | None = None) -> MarketScore:
    """Re-compose one market's stored pillar scores; see :func:`score_many`."""
    return score_many(session, [msa_id], as_of=as_of, weights=weights)[0]
