"""Names of :mod:`aker_core.scoring`, loaded on first use (see its ``__init__.py``)."""

from . import rules as rules
from .asof import AsOf as AsOf
from .asof import latest_as_of as latest_as_of
from .asof import parse_as_of as parse_as_of
from .composite import PILLAR_COLUMNS as PILLAR_COLUMNS
from .composite import compose as compose
from .composite import join_pillars as join_pillars
from .markets import score_markets as score_markets
from .normalize import robust_minmax as robust_minmax
from .pillars import metric_fraction as metric_fraction
from .pillars import score_pillar as score_pillar
from .rules import METRICS_BY_PILLAR as METRICS_BY_PILLAR
from .rules import PILLAR_TABLES as PILLAR_TABLES
from .rules import RULES as RULES
