"""Market scores in the run database: compute-and-store service, bulk persistence, re-composition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aker_core.lazy import lazy_exports

if TYPE_CHECKING:  # real imports for type checkers; at run time names load on first use
    from aker_core.markets.composer import score, score_many
    from aker_core.markets.persist import replace_pillar_scores, upsert_pillar_scores
    from aker_core.markets.results import MarketScore
    from aker_core.markets.service import PillarScoreService

# Lazy so a pipeline task that only persists (aker_core.markets.persist) does not also load the
# service and its database-source reader before every run.
_EXPORTS = {
    "MarketScore": "aker_core.markets.results",
    "PillarScoreService": "aker_core.markets.service",
    "replace_pillar_scores": "aker_core.markets.persist",
    "score": "aker_core.markets.composer",
    "score_many": "aker_core.markets.composer",
    "upsert_pillar_scores": "aker_core.markets.persist",
}
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "MarketScore",
    "PillarScoreService",
    "replace_pillar_scores",
    "score",
    "score_many",
    "upsert_pillar_scores",
]
