"""ScoreMarkets: the whole graph for one as_of -- fetch, score, publish, export."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import luigi

from aker_tasks.export import CONTENT_TYPES, ExportScores
from aker_tasks.identity import AsOfParameter, ConfigParameter, WeightsParameter

__all__ = ["ScoreMarkets"]


class ScoreMarkets(luigi.WrapperTask):
    """Score every market as of a date: the database publication and the export file, agreeing.

    ``luigi --module aker_tasks ScoreMarkets --as-of 2024-06-01`` builds
    FetchSource x5 -> ScorePillar x4 -> ComposeScores -> PublishScores -> ExportScores; it is
    complete when the database and the export hold the scores of the current sources, settings
    and code.
    """

    as_of = AsOfParameter(description="Score as of this date (point-in-time inputs).")
    weights = WeightsParameter()
    format = luigi.ChoiceParameter(choices=tuple(CONTENT_TYPES), default="csv", description="Export format.")
    config = ConfigParameter()

    @classmethod
    def bulk_complete(cls, parameter_tuples: Iterable[Any]) -> list[Any]:
        """The as_of values whose graph is complete: what Luigi's ``RangeDaily`` asks instead of
        guessing from file names (aker's targets are content-addressed, so it could not).

        ``cls`` may be a ``functools.partial`` of the class with the range's ``--of-params``.
        """
        return [as_of for as_of in parameter_tuples if cls(as_of).complete()]

    def requires(self) -> ExportScores:
        """The export, which is complete only together with the publication it requires.

        Only the export, not the publication beside it: a cached run then asks the database once.
        """
        return ExportScores(as_of=self.as_of, weights=self.weights, format=self.format, config=self.config)
