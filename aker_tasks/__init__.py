"""aker's Luigi task graph.

``luigi --module aker_tasks ScoreMarkets --as-of 2024-06-01 [--local-scheduler]`` runs
fetch -> score -> publish -> export; ``Backfill --start D --end D --freq quarter`` does it for
every period end of a range, and Luigi's own ``RangeDaily``/``RangeMonthly`` are importable from
here (``luigi --module aker_tasks RangeMonthly --of ScoreMarkets --start 2024-01 --stop 2024-04``).
Importing this package loads aker's Luigi defaults (see :mod:`aker_tasks.luigi_setup`) and stays
cheap (no pyarrow, no SQLAlchemy): a fully cached rerun only hashes and checks.
"""

from __future__ import annotations

from aker_tasks.luigi_setup import (
    count_work_of_other_workers,
    report_errors_in_one_line,
    require_scheduler,
    use_packaged_config,
)

use_packaged_config()
count_work_of_other_workers()
report_errors_in_one_line()
require_scheduler()

from luigi.tools.range import RangeDaily, RangeMonthly  # noqa: E402  (see luigi.cfg: autoload_range)

from aker_tasks import events as _events  # noqa: E402, F401  (registers the event handlers)
from aker_tasks.backfill import Backfill  # noqa: E402
from aker_tasks.export import ExportScores  # noqa: E402
from aker_tasks.fetch import FetchSource  # noqa: E402
from aker_tasks.pipeline import ScoreMarkets  # noqa: E402
from aker_tasks.publication import PublishScores  # noqa: E402
from aker_tasks.score import ComposeScores, ScorePillar  # noqa: E402
from aker_tasks.vintages import SourceVintages  # noqa: E402

__all__ = [
    "Backfill",
    "ComposeScores",
    "ExportScores",
    "FetchSource",
    "PublishScores",
    "RangeDaily",
    "RangeMonthly",
    "ScoreMarkets",
    "ScorePillar",
    "SourceVintages",
]
