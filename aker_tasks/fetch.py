"""FetchSource: one source dataset as of a date -- each market's latest vintage <= as_of.

The reading and validating is :class:`~aker_tasks.vintages.SourceVintages`' (once per source
content, every vintage); a fetch only cuts that table with the point-in-time rule, so the dates
of a history share one read of each source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from aker_core.exceptions import DataValidationError
from aker_core.sources.location import DATABASE_SOURCE
from aker_tasks.identity import AsOfParameter
from aker_tasks.targets import CacheTarget
from aker_tasks.vintages import DatasetTask, SourceVintages, source_hash, source_label, source_path

if TYPE_CHECKING:
    import pyarrow as pa

    from aker_core.run import RunContext

__all__ = ["FetchSource", "source_hash", "source_path"]


class FetchSource(DatasetTask):
    """One source dataset as of a date, validated, one row per market, sorted by ``msa_id``.

    Its key input is the source's content hash, as :class:`SourceVintages`' is (the vintages
    table is a function of it and of the code named here): a cached fetch needs neither the
    vintages table nor a read, and ``aker status`` names a changed source directly.
    """

    as_of = AsOfParameter(description="Use each market's latest data_vintage on or before this date.")

    # SourceVintages' modules too: the table cut here is theirs, and is not a key input.
    code_modules: ClassVar[tuple[str, ...]] = (*SourceVintages.code_modules, "aker_tasks.fetch")

    def requires(self) -> SourceVintages:
        """The whole validated source, every vintage."""
        return SourceVintages(dataset=self.dataset, config=self.config)

    def _source_label(self) -> str:
        return source_label(self.settings, str(self.dataset))

    def complete(self) -> bool:
        """The target exists and, when sources are retained, so does the copy of the source.

        A cached fetch whose source copy is missing is scheduled, so that its
        :class:`SourceVintages` (which keeps the copy) runs, and then finds its target.
        """
        if not super().complete():
            return False
        try:
            return not self.requires().retained_missing()
        except Exception:  # as AkerTask.complete: never raise from a completeness check
            return False

    def log_inputs(self, run: RunContext) -> None:
        """Record the vintages table and the source it was read from (what ``aker trace`` follows)."""
        super().log_inputs(run)
        meta = self.requires().target().sidecar()
        run.log_lineage(
            table=str(self.dataset),
            source="database" if self.settings.source_uri == DATABASE_SOURCE else "file",
            url=self._source_label(),
            fetched_at=None,
            hash=str(meta["source"]["content_hash"]),
            rows=meta["source"].get("rows_read"),
        )

    def _why_empty(self, vintages: pa.Table) -> str:
        """Why the dataset has no row as of the date (only asked when it has none)."""
        import pyarrow.compute as pc

        where = f"dataset {self.dataset!r} ({self._source_label()})"
        if vintages.num_rows == 0:
            return f"{where} has no data rows"
        earliest = pc.min(vintages["data_vintage"]).as_py()
        return f"as_of {self.as_of} is before every data_vintage of {where} (earliest {earliest})"

    def execute(self, run: RunContext, target: CacheTarget) -> dict[str, Any]:
        """Cut the vintages table at ``as_of`` and write the parquet target."""
        from aker_core.sources.reader import table_as_of
        from aker_tasks.io import read_arrow, schema_doc, write_parquet

        source = self.requires().target()
        if not source.exists():
            raise DataValidationError(
                f"dataset {self.dataset!r} ({self._source_label()}) changed while it was read; run again"
            )
        meta = source.sidecar()
        self.report(f"cutting {self.dataset} as of {self.as_of}", percent=10)
        vintages = read_arrow(source.path)
        # Stored in (msa_id, data_vintage) order: the point-in-time rule is one linear scan.
        table = table_as_of(vintages, self.as_of)
        if table.num_rows == 0:
            raise DataValidationError(self._why_empty(vintages))
        self.report(f"writing {table.num_rows} markets of {self.dataset}", percent=60)
        write_parquet(target, table)
        return {
            "rows": table.num_rows,
            "rows_in": vintages.num_rows,
            "schema": schema_doc(table.schema),
            "source": dict(meta["source"]),
        }
