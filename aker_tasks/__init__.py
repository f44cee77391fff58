"""aker's Luigi task graph.

``luigi --module aker_tasks ScoreMarkets --as-of 2024-06-01 [--local-scheduler]`` runs
fetch -> score -> persist; ``ExportScores --format csv`` adds a user-facing export. Importing this
package stays cheap (no pyarrow, no SQLAlchemy): a fully cached rerun only hashes and checks.
"""

from __future__ import annotations

from aker_tasks import events as _events  # noqa: F401  (registers the event handlers)
from aker_tasks.export import ExportScores
from aker_tasks.fetch import FetchSource
from aker_tasks.score import ScoreMarkets, ScorePillar

__all__ = ["ExportScores", "FetchSource", "ScoreMarkets", "ScorePillar"]
