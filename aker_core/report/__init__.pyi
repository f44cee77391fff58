"""Names of :mod:`aker_core.report`, loaded on first use (see its ``__init__.py``)."""

from .contract import SCORE_COLUMNS as SCORE_COLUMNS
from .contract import ReportError as ReportError
from .contract import ScorecardMeta as ScorecardMeta
from .metrics import join_metrics as join_metrics
from .metrics import read_metrics as read_metrics
from .page import render_scorecard as render_scorecard
