"""Backfill: score a history -- every quarter-, month- or week-end of a range -- in one Luigi run.

``luigi --module aker_tasks Backfill --start 2022-01-01 --end 2024-12-31 --freq quarter``
(``aker backfill`` is the same with a friendlier front) publishes every date, then exports every
date. The order matters: an export's ``rank_change`` compares with the latest *earlier* date
published with the same weights, so an export written before an earlier date is published would
be rewritten by the next run. Both phases are Luigi dynamic dependencies, yielded in chunks of
about the worker count so that ``--workers N`` scores N dates at a time; after each chunk the
task reports ``k/N`` to luigid (status message and progress bar) and to the console.

The dates share work through the graph itself: each source is read once
(:class:`~aker_tasks.vintages.SourceVintages`), and dates whose point-in-time cuts are identical
share their pillar and composite targets (:class:`~aker_tasks.score.DateFreeTask`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import luigi

from aker_core.dates import FREQUENCIES, period_ends
from aker_tasks.base import report_progress
from aker_tasks.exports.formats import CONTENT_TYPES
from aker_tasks.identity import AsOfParameter, ConfigParameter, WeightsParameter

__all__ = ["Backfill"]

#: Luigi's console logger: the progress line shows beside Luigi's own INFO lines (``[core] log_level``).
console = logging.getLogger("luigi-interface")


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Backfill(luigi.Task):
    """Publish and export every period end between ``start`` and ``end`` (see the module docstring).

    Complete when every date's export is (which holds only together with its publication).
    """

    start = AsOfParameter(flag="--start", description="First day of the range (YYYY-MM-DD).")
    end = AsOfParameter(flag="--end", description="Last day of the range, inclusive (YYYY-MM-DD).")
    freq = luigi.ChoiceParameter(
        choices=FREQUENCIES,
        default="quarter",
        description="Score the last day of every quarter, month or week (Sunday) in the range.",
    )
    weights = WeightsParameter()
    format = luigi.ChoiceParameter(choices=tuple(CONTENT_TYPES), default="csv", description="Export format.")
    config = ConfigParameter()
    chunk = luigi.IntParameter(
        default=0,
        significant=False,
        description="Dates handed to the workers at a time (default: the --workers count).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A bad range fails here, as the command line is read: one line, exit code 2, nothing run.
        self.dates: list[dt.date] = period_ends(self.start, self.end, self.freq)

    def _chunk_size(self) -> int:
        if self.chunk > 0:
            return int(self.chunk)
        from luigi.interface import core

        return max(1, int(core().workers))

    def publications(self) -> list[luigi.Task]:
        """Every date's PublishScores, oldest first."""
        from aker_tasks.publication import PublishScores

        return [PublishScores(as_of=d, weights=self.weights, config=self.config) for d in self.dates]

    def exports(self) -> list[luigi.Task]:
        """Every date's ExportScores, oldest first."""
        from aker_tasks.export import ExportScores

        return [ExportScores(as_of=d, weights=self.weights, format=self.format, config=self.config) for d in self.dates]

    def complete(self) -> bool:
        """Every date's export is complete (stops at the first that is not)."""
        return all(task.complete() for task in self.exports())

    def _progress(self, published: int, exported: int) -> None:
        """Report ``k/N`` to luigid (message and bar) and the console."""
        total = len(self.dates)
        message = f"{published}/{total} dates published, {exported}/{total} exported"
        report_progress(self, message, int(100 * (published + exported) / (2 * total)))
        console.info("Backfill %s..%s (%s): %s", self.dates[0], self.dates[-1], self.freq, message)

    def run(self) -> Iterator[list[luigi.Task]]:
        """Yield the publications, then the exports, a chunk at a time, reporting after each.

        Luigi replays ``run()`` from the start each time it resumes after new dependencies and
        checks the chunks already done again (once each with ``[worker] cache_task_completion``,
        which ``aker backfill`` turns on). This method asks nothing itself: a chunk being handed
        out is the one whose ``yield`` Luigi abandons (``GeneratorExit``), and that is when the
        progress so far is reported -- once per chunk, never again on a replay.
        """
        total, size = len(self.dates), self._chunk_size()
        for phase, tasks in (("publish", self.publications()), ("export", self.exports())):
            done = 0
            for chunk in _chunks(tasks, size):
                try:
                    yield list(chunk)
                except GeneratorExit:  # not complete: Luigi hands this chunk to the workers now
                    self._progress(done if phase == "publish" else total, 0 if phase == "publish" else done)
                    raise
                done += len(chunk)
        self._progress(total, total)
