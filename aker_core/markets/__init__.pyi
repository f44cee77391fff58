"""Names of :mod:`aker_core.markets`, loaded on first use (see its ``__init__.py``)."""

from .composer import score as score
from .composer import score_many as score_many
from .persist import replace_pillar_scores as replace_pillar_scores
from .persist import upsert_pillar_scores as upsert_pillar_scores
from .results import MarketScore as MarketScore
from .service import PillarScoreService as PillarScoreService
