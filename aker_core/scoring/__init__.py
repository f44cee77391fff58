"""Market scoring: rules, point-in-time selection, pillar scores, composite and normalisation.

Everything here is pure, vectorised (pyarrow + numpy) arithmetic without I/O; reading sources
lives in :mod:`aker_core.sources` and persistence in :mod:`aker_core.markets`. Identical input
gives bit-identical output, with rows sorted by ``msa_id``.

Typical flow::

    rows = latest_as_of(source_table, "2024-06-01")       # per source table
    pillar = score_pillar("supply", rows)                  # per pillar
    result = compose(join_pillars([supply, jobs, urban, outdoor]), weights=None)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aker_core.lazy import lazy_exports

if TYPE_CHECKING:  # real imports for type checkers; at run time names load on first use
    from aker_core.config.weights import WeightsLike, normalise_weights
    from aker_core.scoring import rules
    from aker_core.scoring.asof import AsOf, latest_as_of, parse_as_of
    from aker_core.scoring.composite import PILLAR_COLUMNS, compose, join_pillars
    from aker_core.scoring.markets import score_markets
    from aker_core.scoring.normalize import robust_minmax
    from aker_core.scoring.pillars import metric_fraction, score_pillar
    from aker_core.scoring.rules import METRICS_BY_PILLAR, PILLAR_TABLES, RULES

_EXPORTS = {
    "rules": "aker_core.scoring.rules",
    "AsOf": "aker_core.scoring.asof",
    "latest_as_of": "aker_core.scoring.asof",
    "parse_as_of": "aker_core.scoring.asof",
    "PILLAR_COLUMNS": "aker_core.scoring.composite",
    "WeightsLike": "aker_core.config.weights",
    "compose": "aker_core.scoring.composite",
    "join_pillars": "aker_core.scoring.composite",
    "normalise_weights": "aker_core.config.weights",
    "score_markets": "aker_core.scoring.markets",
    "robust_minmax": "aker_core.scoring.normalize",
    "metric_fraction": "aker_core.scoring.pillars",
    "score_pillar": "aker_core.scoring.pillars",
    "METRICS_BY_PILLAR": "aker_core.scoring.rules",
    "PILLAR_TABLES": "aker_core.scoring.rules",
    "RULES": "aker_core.scoring.rules",
}
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "METRICS_BY_PILLAR",
    "PILLAR_COLUMNS",
    "PILLAR_TABLES",
    "RULES",
    "AsOf",
    "WeightsLike",
    "compose",
    "join_pillars",
    "latest_as_of",
    "metric_fraction",
    "normalise_weights",
    "parse_as_of",
    "robust_minmax",
    "rules",
    "score_markets",
    "score_pillar",
]
