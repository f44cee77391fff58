"""ExportScores: the user-facing file of a published composite (csv, parquet or jsonl)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import luigi

from aker_tasks.base import AkerTask
from aker_tasks.identity import AsOfParameter
from aker_tasks.publication import PublishScores
from aker_tasks.score import ComposeScores, WeightedTask
from aker_tasks.targets import PARQUET, CacheTarget, atomic_path

if TYPE_CHECKING:
    import pyarrow as pa

    from aker_core.run import RunContext

__all__ = ["CONTENT_TYPES", "ExportScores"]

CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv",
    "parquet": PARQUET,
    "jsonl": "application/jsonl",
}


def _write(table: pa.Table, fmt: str, path: str) -> None:
    if fmt == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path, compression="zstd", compression_level=1, use_dictionary=False)
    else:
        import orjson

        # Column-wise to Python lists, then one orjson call per row: no per-row Arrow access.
        columns = {name: table[name].to_pylist() for name in table.column_names}
        with open(path, "wb") as f:
            for i in range(table.num_rows):
                f.write(orjson.dumps({k: v[i] for k, v in columns.items()}, option=orjson.OPT_NAIVE_UTC))
                f.write(b"\n")


class ExportScores(WeightedTask):
    """Export the composite scores of an as_of in a user-facing format, once they are published.

    Complete only when its file exists *and* the database holds the same scores: an export never
    stands beside a database that says something else (e.g. after a run with other weights, or
    after the database was lost, the next ExportScores republishes).
    """

    as_of = AsOfParameter(description="As-of date of the scores to export.")
    format = luigi.ChoiceParameter(choices=tuple(CONTENT_TYPES), default="csv", description="Export format.")

    # config.weights: how the weights the export is published with are normalised (WeightedTask)
    code_modules: ClassVar[tuple[str, ...]] = ("aker_tasks.export", "aker_tasks.io", "aker_core.config.weights")

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

    def runtime_modules(self) -> tuple[str, ...]:
        """``pyarrow.csv`` for CSV exports."""
        return ("pyarrow.csv",) if self.format == "csv" else ()

    def requires(self) -> dict[str, AkerTask]:
        """The composite to export, and its publication."""
        return {
            "scores": ComposeScores(as_of=self.as_of, weights=self.weights, config=self.config),
            "published": PublishScores(as_of=self.as_of, weights=self.weights, config=self.config),
        }

    def complete(self) -> bool:
        """The export file exists and the database holds the scores it shows."""
        return super().complete() and self.requires()["published"].complete()

    def execute(self, run: RunContext, target: CacheTarget) -> dict[str, Any]:
        """Write the export atomically through the target's temporary path."""
        from aker_tasks.io import read_parquet, schema_doc

        table = read_parquet(self.requires()["scores"].target())
        self.report(f"writing {table.num_rows} markets as {self.format}", percent=30)
        with atomic_path(target, replace_different=True) as tmp:
            _write(table, str(self.format), tmp)
        return {"rows": table.num_rows, "schema": schema_doc(table.schema)}
