"""ExportScores: the user-facing file of a published composite (csv, parquet, jsonl or html).

``html`` is the scorecard page (:func:`aker_core.report.render_scorecard`) of the same export
table, with each market's metrics from the run's own FetchSource targets (which then are inputs
of its key) and the sources' content hashes in its header.

Two copies of one file: the content-addressed target under the cache (the history, with its
sidecar) and the *stable* path ``AKER_EXPORT_DIR/<as_of>/scores[.<variant>].<ext>``
(:mod:`aker_tasks.exports.stable`), replaced atomically by each run, where people look.

The export shows more than the composite: the publishing run's id, and ``rank_change`` against
the previous publication in the database (:mod:`aker_tasks.exports.previous`). Both are database
state, not files, so they enter the target's *cache key* as inputs beside the composite's
content hash (:meth:`ExportScores.database_inputs`; ``aker status`` names them when they changed):
republishing this date, or publishing an earlier date with the same weights, gives a new key and
a new export, while a rerun with nothing changed finds its target. They are deliberately not
part of the ``config`` fingerprint (the task id): that names the graph's configuration, sources
and code; luigid re-runs a task that was done once the worker finds it incomplete again, which a
changed key makes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import luigi
import orjson

from aker_tasks.base import AkerTask, logger
from aker_tasks.exports.formats import CONTENT_TYPES
from aker_tasks.fetch import FetchSource
from aker_tasks.identity import AsOfParameter
from aker_tasks.publication import PublishScores
from aker_tasks.score import ComposeScores, WeightedTask
from aker_tasks.targets import CacheTarget, atomic_path

if TYPE_CHECKING:
    import pyarrow as pa

    from aker_core.run import RunContext
    from aker_tasks.cachekey import KeyParts

__all__ = ["CONTENT_TYPES", "ExportScores"]


#: Modules only the html format runs -- its renderer, and the rules and fractions of the page's
#: detail panel -- so a csv, parquet or jsonl export does not rerun when they change.
HTML_MODULES: tuple[str, ...] = (
    "aker_core.report",
    "aker_core.scoring.arrowutil",
    "aker_core.scoring.pillars",
    "aker_core.scoring.rules",
    "aker_core.sources.location",
)


class ExportScores(WeightedTask):
    """Export the scores of an as_of in a user-facing format, once they are published.

    Complete when its target exists for the current composite *and* publications (see the
    module docstring) and the stable file holds exactly the target's bytes: a stable file that
    was deleted or edited is written again by the next run; the cached target is reused.
    """

    as_of = AsOfParameter(description="As-of date of the scores to export.")
    format = luigi.ChoiceParameter(choices=tuple(CONTENT_TYPES), default="csv", description="Export format.")

    # config.weights: how the weights the export is published with are normalised (WeightedTask)
    code_modules: ClassVar[tuple[str, ...]] = (
        "aker_tasks.export",
        "aker_tasks.exports",
        "aker_tasks.io",
        "aker_core.config.weights",
        "aker_tasks.publication",  # which run published the rows the export names
        *HTML_MODULES,
    )

    def code_versions(self) -> dict[str, str]:
        """Those of :attr:`code_modules`, without the page's modules unless the format is html."""
        versions = super().code_versions()
        if self.format != "html":
            for module in HTML_MODULES:
                versions.pop(module, None)
        return versions

    @property
    def content_type(self) -> str:  # type: ignore[override]
        """Per format."""
        return CONTENT_TYPES[str(self.format)]

    @property
    def extension(self) -> str:  # type: ignore[override]
        """The format is the extension."""
        return str(self.format)

    def label(self) -> str:
        """File names start with ``scores``."""
        return "scores"

    def requires(self) -> dict[str, AkerTask]:
        """The composite to export and its publication; for html also the fetched sources."""
        reqs: dict[str, AkerTask] = {
            "scores": ComposeScores(as_of=self.as_of, weights=self.weights, config=self.config),
            "published": PublishScores(as_of=self.as_of, weights=self.weights, config=self.config),
        }
        if self.format == "html":
            from aker_core.sources.location import DATASETS

            reqs.update({f"source:{d}": FetchSource(dataset=d, as_of=self.as_of, config=self.config) for d in DATASETS})
        return reqs

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: While :meth:`run` runs: the publications it read, by composite hash (each of its steps --
        #: the check, the key, the lineage, the table -- would otherwise ask the database again).
        #: Emptied once the file is written, so the check that nothing was published meanwhile asks anew.
        self._pinned: dict[str, dict[str, Any] | None] | None = None

    # --- identity -------------------------------------------------------------------------
    def stable_path(self) -> Path:
        """Where the stable copy of this export lives (see :mod:`aker_tasks.exports.stable`)."""
        from aker_tasks.exports.stable import stable_path

        settings = self.settings
        assert settings.export_dir is not None  # filled in by Settings
        return stable_path(
            settings.export_dir, self.as_of, self.weights_used(), settings.weights.normalised(), self.extension
        )

    def publications(self, composite_hash: str | None = None) -> dict[str, Any] | None:
        """The database state the export shows, or ``None`` while this composite was never published.

        Args:
            composite_hash: the composite's content hash (default: its current target's).

        Returns:
            ``current``: the publication id of the composite with these weights and the run that
            (last) published it -- the run named by the date's rows while the database holds it;
            ``previous``: the previous publication with these weights
            (:func:`~aker_tasks.exports.previous.previous_publication`) or ``None``.
        """

        if composite_hash is None:
            scores = self.requires()["scores"].output()
            if not isinstance(scores, CacheTarget) or not scores.exists():
                return None
            composite_hash = scores.content_hash()
        pinned = self._pinned
        if pinned is not None and composite_hash in pinned:
            return pinned[composite_hash]
        found = self._read_publications(composite_hash)
        if pinned is not None:
            pinned[composite_hash] = found
        return found

    def _read_publications(self, composite_hash: str) -> dict[str, Any] | None:
        """:meth:`publications`, asked of the database."""
        from aker_tasks.exports.previous import last_publisher, previous_publication
        from aker_tasks.publication import publication_id

        url = self.settings.database_url
        publication = publication_id(composite_hash, self.weights_used())
        # Also after another run (other weights) replaced the date's rows, as concurrent runs
        # may: the export of what this task's graph computed still succeeds and names its publisher.
        run_id = last_publisher(url, self.as_of, publication)
        if run_id is None:
            return None
        previous = previous_publication(url, self.as_of, self.weights_used())
        return {"current": {"run_id": run_id, "publication": publication}, "previous": previous}

    def database_inputs(self, inputs: Mapping[str, str]) -> dict[str, str]:
        """:meth:`publications` of the composite in ``inputs`` as key inputs (``{}`` while unpublished
        or the composite is not built), named for ``aker status``: ``publication`` (its id),
        ``publisher`` (the run) and ``previous_publication`` (a hash of the previous publication's
        identity, or ``none``)."""
        from aker_tasks.hashing import hash_bytes

        composite = inputs.get("scores")
        try:
            publications = self.publications(composite) if composite else None
        except Exception:  # an unreachable database: unknown, so pending (run() reports the error)
            logger.debug("%s: publications unreadable; the export's key is unknown", self.task_id, exc_info=True)
            return {}
        if publications is None:
            return {}
        current, previous = publications["current"], publications["previous"]
        return {
            "publication": str(current["publication"]),
            "publisher": str(current["run_id"]),
            "previous_publication": "none"
            if previous is None
            else hash_bytes(orjson.dumps(previous, option=orjson.OPT_SORT_KEYS)),
        }

    def parts_for(self, inputs: Mapping[str, str]) -> KeyParts:
        """The file inputs' parts plus :meth:`database_inputs`: the database state the export shows."""
        parts = super().parts_for(inputs)
        return replace(parts, inputs={**parts.inputs, **self.database_inputs(inputs)})

    def key_parts(self) -> KeyParts | None:
        """As for every task, but ``None`` (pending) until the composite was published."""
        parts = super().key_parts()
        return parts if parts is not None and "publication" in parts.inputs else None

    def output_complete(self) -> bool:
        """The target exists, the database publishes its scores and the stable file is a copy of it.

        The key is computed once (it asks the database twice); an unreadable sidecar or database
        means "run and rebuild it" (:meth:`AkerTask.complete` answers ``False``).
        """
        from aker_tasks.exports.stable import is_current

        target = self.output()
        if not isinstance(target, CacheTarget) or not target.exists():
            return False
        if not self.requires()["published"].complete():
            return False
        return is_current(self.stable_path(), target.content_hash())

    # --- execution ------------------------------------------------------------------------
    def table(self) -> pa.Table:
        """The export table of the published composite (:func:`~aker_tasks.exports.table.export_table`).

        Raises:
            DataValidationError: the database holds no publication of this composite.
        """
        return self._table()[0]

    def _table(self) -> tuple[pa.Table, dt.date | None]:
        """:meth:`table` and the previous as_of its ``rank_change`` compares with (``None``: none)."""
        from aker_tasks.exports.previous import previous_ranks
        from aker_tasks.exports.table import export_table
        from aker_tasks.io import read_parquet

        publications = self._require_publication()
        composite = read_parquet(self.requires()["scores"].target())
        previous_day, previous = previous_ranks(self.settings.database_url, self.as_of, self.weights_used())
        table = export_table(
            composite,
            as_of=self.as_of,
            weights=self.weights_used(),
            run_id=str(publications["current"]["run_id"]),
            previous_ranks=previous,
        )
        return table, previous_day

    def _require_publication(self) -> dict[str, Any]:
        """:meth:`publications`, which must exist.

        Raises:
            DataValidationError: the composite was never published (or the database was emptied).
            DatabaseConnectionError: the database cannot be reached.
        """
        from aker_core.exceptions import DataValidationError

        publications = self.publications()
        if publications is None:
            raise DataValidationError(
                f"as of {self.as_of}: the database holds no publication of these scores (was it emptied while "
                "this export ran?); run ScoreMarkets again"
            )
        return publications

    def _scorecard(self, run: RunContext, table: pa.Table, previous_day: dt.date | None) -> str:
        """The HTML scorecard of ``table``, with the metrics and source hashes of the fetched sources."""
        from aker_core.report import ScorecardMeta, join_metrics, render_scorecard
        from aker_core.sources.location import SOURCE_TABLES
        from aker_tasks.io import read_parquet

        fetched = {k.removeprefix("source:"): t for k, t in self.requires().items() if k.startswith("source:")}
        metrics = join_metrics({d: read_parquet(fetched[d].target()) for d in SOURCE_TABLES})
        hashes = {d: str(task.target().sidecar()["source"]["content_hash"]) for d, task in fetched.items()}
        meta = ScorecardMeta(git_sha=run.git_sha, source_hashes=hashes, previous_as_of=previous_day)
        return render_scorecard(table, metrics=metrics, meta=meta)

    def log_inputs(self, run: RunContext) -> None:
        """The composite (a file), and the publications read from the database."""
        super().log_inputs(run)
        publications = self.publications() or {}
        current, previous = publications.get("current"), publications.get("previous")
        for day, held in ((self.as_of.isoformat(), current), ((previous or {}).get("as_of"), previous)):
            if held:
                run.log_lineage(
                    table="pillar_scores",
                    source="database",
                    url=f"pillar_scores?score_as_of={day}",
                    fetched_at=None,
                    hash=held.get("publication"),
                    rows=held.get("rows"),
                )

    def execute(self, run: RunContext, target: CacheTarget) -> dict[str, Any]:
        """Write the export atomically through the target's temporary path.

        Raises:
            DataValidationError: a publication changed while the export was written (its file
                would show another state than its key says); the next run writes the new one.
        """
        from aker_core.exceptions import DataValidationError
        from aker_tasks.exports.formats import write_export
        from aker_tasks.io import schema_doc

        table, previous_day = self._table()
        self.report(f"writing {table.num_rows} markets as {self.format}", percent=30)
        with atomic_path(target, replace_different=True) as tmp:
            if self.format == "html":
                Path(tmp).write_text(self._scorecard(run, table, previous_day), encoding="utf-8")
            else:
                write_export(table, str(self.format), tmp)
        if self._pinned is not None:
            self._pinned.clear()  # ask the database again: was anything published meanwhile?
        after = self.key_parts()
        if after is None or self.target_for(after).path != target.path:
            Path(target.path).unlink(missing_ok=True)
            raise DataValidationError(
                f"as of {self.as_of}: scores were published while this export was written; run it again"
            )
        return {"rows": table.num_rows, "schema": schema_doc(table.schema)}

    def run(self) -> None:
        """Build the target (unless cached), then make the stable file a copy of it."""
        from aker_tasks.exports.stable import is_current, replace_atomically

        # Ask once outside the key, so an unreachable database or a missing publication fails
        # with its own one-line error, not as an unknown key.
        self._pinned = {}
        try:
            self._require_publication()
            super().run()
            target = self.target()
        finally:
            self._pinned = None
        dest = self.stable_path()
        if not is_current(dest, target.content_hash()):
            replace_atomically(Path(target.path), dest)
            logger.info("%s: stable export %s", self.task_id, dest)
