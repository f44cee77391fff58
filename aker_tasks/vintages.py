"""SourceVintages: one source dataset read and validated once, every vintage kept.

A history (``aker backfill``) cuts the same source at many dates. Reading and validating the
source is most of a fetch, so it happens once per dataset and source *content*: this task's
target is the whole validated table, every ``data_vintage`` of every market, sorted by
(``msa_id``, ``data_vintage``), under the cache's ``all/`` directory (it has no ``as_of``), as an
uncompressed Arrow IPC file: a fetch memory-maps it and copies only the rows it keeps (measured at
10^5 markets x 8 vintages: 2 ms to map and 45 ms to cut market_jobs, against ~0.2 s to decode the
same table from parquet).
Each date's :class:`~aker_tasks.fetch.FetchSource` only cuts it with the point-in-time rule,
which on this order is one linear scan (:func:`~aker_core.scoring.asof.latest_rows`).

Its key input is the source's content hash (file bytes, or the database table's rows), so an
edited source gives a new target and an unchanged one is never read again. It also keeps the
retained copy of the source (:mod:`aker_core.sources.retain`) and records the source read in its
lineage.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import luigi

from aker_core.config import Settings
from aker_core.exceptions import DataValidationError
from aker_core.sources.location import DATABASE_SOURCE, DATASETS
from aker_core.sources.retain import retain, retained_path
from aker_tasks.base import PUBLICATION_PRIORITY, AkerTask
from aker_tasks.hashing import file_hash, hash_bytes
from aker_tasks.targets import ARROW, CacheTarget

if TYPE_CHECKING:
    import pyarrow as pa

    from aker_core.run import RunContext

__all__ = ["DatasetTask", "SourceVintages", "source_hash", "source_label", "source_path"]


@lru_cache(maxsize=8)
def _db_table(url: str, name: str) -> tuple[pa.Table, str]:
    # Read once per process: the content hash (needed to know the key) and the data itself.
    import pyarrow as pa

    from aker_core.sources import read_table_from_db
    from aker_data.engine import database_engine

    table = read_table_from_db(database_engine(url), name, validate=True)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return table, hash_bytes(sink.getvalue().to_pybytes())


def source_path(settings: Settings, dataset: str) -> Path:
    """The file ``dataset`` is read from under ``settings.source_uri``.

    Raises:
        DataValidationError: the source directory or dataset file does not exist.
    """
    from aker_core.sources.location import dataset_path, resolve_source_dir

    return dataset_path(resolve_source_dir(settings.source_uri), dataset)


def source_hash(settings: Settings, dataset: str) -> str:
    """The content hash of a source dataset: its file's bytes, or the database table's rows.

    Raises:
        DataValidationError: the dataset cannot be found or (database source) read.
    """
    if settings.source_uri == DATABASE_SOURCE:
        return _db_table(settings.database_url, dataset)[1]
    return file_hash(source_path(settings, dataset))


def source_label(settings: Settings, dataset: str) -> str:
    """Where ``dataset`` is read from, as messages and lineage name it (a file URI or ``database:<name>``)."""
    if settings.source_uri == DATABASE_SOURCE:
        return f"database:{dataset}"
    return source_path(settings, dataset).as_uri()


def dataset_priority(dataset: str) -> int:
    """Wider datasets first, so the longest fetch -> pillar chain does not start last (all above
    :data:`~aker_tasks.base.PUBLICATION_PRIORITY`, which Luigi propagates to them anyway)."""
    from aker_core.scoring.rules import METRIC_COLUMNS

    return PUBLICATION_PRIORITY + len(METRIC_COLUMNS.get(dataset, ()))


class DatasetTask(AkerTask):
    """A task about one source dataset, keyed by the source's content hash (file bytes or rows)."""

    dataset = luigi.ChoiceParameter(choices=DATASETS, description="Source dataset to read.")

    def label(self) -> str:
        """File names start with the dataset."""
        return str(self.dataset)

    @property
    def priority(self) -> int:  # type: ignore[override]
        """Wider datasets first (see :func:`dataset_priority`)."""
        return dataset_priority(str(self.dataset))

    def input_hashes(self) -> dict[str, str] | None:
        """The source's own content hash (file bytes, or the database table's rows)."""
        return {"source": source_hash(self.settings, str(self.dataset))}


class SourceVintages(DatasetTask):
    """One source dataset, validated, every vintage, sorted by (``msa_id``, ``data_vintage``)."""

    # rules defines which metric columns a source keeps; models, what the database source reads.
    code_modules: ClassVar[tuple[str, ...]] = (
        "aker_core.sources",
        "aker_core.scoring.asof",
        "aker_core.scoring.rules",
        "aker_data.models",
        "aker_tasks.vintages",
        "aker_tasks.io",
    )

    #: An Arrow IPC file, memory-mapped by each fetch: a cut reads only the rows it keeps.
    content_type: ClassVar[str] = ARROW
    extension: ClassVar[str] = "arrow"

    def _from_database(self) -> bool:
        return self.settings.source_uri == DATABASE_SOURCE

    # --- retained sources (aker_core.sources.retain) ---------------------------------------
    def _retaining(self) -> bool:
        """Sources are retained when AKER_RETAIN_SOURCES is on and the source is a file."""
        return self.settings.retain_sources and not self._from_database()

    def retained_missing(self) -> bool:
        """Whether the current source should be retained and is not (a ``stat``, no hashing)."""
        if not self._retaining():
            return False
        path = source_path(self.settings, str(self.dataset))
        dataset_hash = source_hash(self.settings, str(self.dataset))
        return not retained_path(self.settings.cache_path, dataset_hash, path.suffix).is_file()

    def complete(self) -> bool:
        """The target exists and, when sources are retained, so does the copy of the source it was read from.

        A target that is reused (cached) but whose source copy is missing -- retention was off
        when it ran, or the copy was removed -- runs only to make the copy (:meth:`run`).
        """
        if not super().complete():
            return False
        try:
            return not self.retained_missing()
        except Exception:  # as AkerTask.complete: never raise from a completeness check
            return False

    def run(self) -> None:
        """Read (retaining the source), or, when the target already exists, only retain the source."""
        super().run()
        if self.retained_missing():
            retain(
                source_path(self.settings, str(self.dataset)),
                source_hash(self.settings, str(self.dataset)),
                self.settings.cache_path,
            )

    def log_inputs(self, run: RunContext) -> None:
        """Record the source read as the input lineage row."""
        run.log_lineage(
            table=str(self.dataset),
            source="database" if self._from_database() else "file",
            url=source_label(self.settings, str(self.dataset)),
            fetched_at=dt.datetime.now(dt.UTC),
            hash=source_hash(self.settings, str(self.dataset)),
        )

    def execute(self, run: RunContext, target: CacheTarget) -> dict[str, Any]:
        """Read and validate the whole source, sort it by key and write the parquet target."""
        from aker_core.scoring.asof import sort_by_key
        from aker_core.sources.reader import read_dataset_sorted
        from aker_tasks.io import schema_doc, write_arrow

        dataset = str(self.dataset)
        label = source_label(self.settings, dataset)
        self.report(f"reading {dataset} from {label}", percent=5)
        before = source_hash(self.settings, dataset)
        if self._from_database():
            table = sort_by_key(_db_table(self.settings.database_url, dataset)[0])  # sorted already: a check
        else:
            # Read, validated and put in key order one batch of columns at a time (memory).
            table = read_dataset_sorted(
                dataset,
                source_path(self.settings, dataset),
                progress=lambda fraction: self.report(percent=5 + int(65 * fraction)),
            )
            if source_hash(self.settings, dataset) != before:
                # The target and its lineage must describe the bytes that were read.
                raise DataValidationError(f"dataset {dataset!r} ({label}) changed while it was read; run again")
        if self._retaining():
            # Before the sidecar: a result never exists without the bytes it was read from.
            retain(source_path(self.settings, dataset), before, self.settings.cache_path)
        self.report(f"writing {table.num_rows} rows of {dataset}", percent=80)
        write_arrow(target, table.combine_chunks())
        return {
            "rows": table.num_rows,
            "rows_in": table.num_rows,
            "schema": schema_doc(table.schema),
            "source": {
                "uri": self.settings.source_uri,
                "location": label,
                "dataset": dataset,
                "content_hash": before,
                "rows_read": table.num_rows,
            },
        }
