"""Scoring whole markets from their source tables: point-in-time, four pillars, composite.

This is the one composition of the scoring steps that both the database service
(:class:`aker_core.markets.service.PillarScoreService`) and file-based pipelines use.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from aker_core.config.weights import WeightsLike
from aker_core.exceptions import ScoringError
from aker_core.scoring.asof import latest_as_of
from aker_core.scoring.composite import PILLAR_COLUMNS, compose, join_pillars
from aker_core.scoring.pillars import score_pillar
from aker_core.scoring.rules import PILLAR_TABLES

__all__ = ["score_markets"]


def score_markets(
    sources: Mapping[str, pa.Table],
    as_of: object,
    weights: WeightsLike | None = None,
    universe: pa.Array | None = None,
) -> pa.Table:
    """Score markets as of a date from their (multi-vintage) source tables.

    Args:
        sources: ``market_supply``, ``market_jobs``, ``market_urban``, ``market_outdoors`` tables
            (``msa_id``, ``data_vintage`` and metrics); a missing table scores its pillar null.
        as_of: see :func:`~aker_core.scoring.parse_as_of`.
        weights: see :func:`~aker_core.config.weights.normalise_weights`.
        universe: if given, exactly these markets (deduplicated, sorted) appear in the output;
            markets without any data get all pillars missing. Otherwise every market found.

    Returns:
        The :func:`~aker_core.scoring.compose` table, sorted by ``msa_id``.
    """
    unknown = sorted(set(sources) - set(PILLAR_TABLES.values()))
    if unknown:
        raise ScoringError(f"unknown source table(s) {', '.join(unknown)}")
    parts = []
    for pillar, table_name in PILLAR_TABLES.items():
        source = sources.get(table_name)
        if source is None:
            continue
        parts.append(score_pillar(pillar, latest_as_of(source, as_of)))
    joined = join_pillars(parts)
    if universe is not None:
        ids = pc.unique(pc.cast(universe, pa.string()).drop_null())
        ids = ids.take(pc.sort_indices(ids))
        position = pc.index_in(ids, value_set=joined.column("msa_id"))
        columns = {"msa_id": ids}
        for column in PILLAR_COLUMNS:
            columns[column] = joined.column(column).combine_chunks().take(position)
        joined = pa.table(columns)
    return compose(joined, weights)
