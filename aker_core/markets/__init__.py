"""Market scores in the run database: compute-and-store service, bulk persistence, re-composition."""

from __future__ import annotations

from aker_core.markets.composer import score, score_many
from aker_core.markets.persist import replace_pillar_scores, upsert_pillar_scores
from aker_core.markets.results import MarketScore
from aker_core.markets.service import PillarScoreService

__all__ = [
    "MarketScore",
    "PillarScoreService",
    "replace_pillar_scores",
    "score",
    "score_many",
    "upsert_pillar_scores",
]
