"""FetchSource: read one source dataset, validate it, keep the latest vintage <= as_of."""

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
from aker_tasks.base import AkerTask
from aker_tasks.hashing import file_hash, hash_bytes
from aker_tasks.identity import AsOfParameter
from aker_tasks.targets import CacheTarget

if TYPE_CHECKING:
    import pyarrow as pa

    from aker_core.run import RunContext

__all__ = ["FetchSource", "source_hash", "source_path"]


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


class FetchSource(AkerTask):
    """One source dataset as of a date, validated, one row per market, sorted by ``msa_id``."""

    dataset = luigi.ChoiceParameter(choices=DATASETS, description="Source dataset to read.")
    as_of = AsOfParameter(description="Use each market's latest data_vintage on or before this date.")

    # rules defines which metric columns a source keeps; models, what the database source reads.
    code_modules: ClassVar[tuple[str, ...]] = (
        "aker_core.sources",
        "aker_core.scoring.asof",
        "aker_core.scoring.rules",
        "aker_data.models",
        "aker_tasks.fetch",
        "aker_tasks.io",
    )

    def label(self) -> str:
        """File names start with the dataset."""
        return str(self.dataset)

    @property
    def priority(self) -> int:  # type: ignore[override]
        """Wider datasets first, so the longest fetch -> pillar chain does not start last."""
        from aker_core.scoring.rules import METRIC_COLUMNS

        return len(METRIC_COLUMNS.get(str(self.dataset), ()))

    def _from_database(self) -> bool:
        return self.settings.source_uri == DATABASE_SOURCE

    def input_hashes(self) -> dict[str, str] | None:
        """The source's own content hash (file bytes, or the database table's rows)."""
        return {"source": source_hash(self.settings, str(self.dataset))}

    def _source_label(self) -> str:
        if self._from_database():
            return f"database:{self.dataset}"
        return source_path(self.settings, str(self.dataset)).as_uri()

    # --- retained sources (aker_core.sources.retain) ---------------------------------------
    def _retaining(self) -> bool:
        """Sources are retained when AKER_RETAIN_SOURCES is on and the source is a file."""
        return self.settings.retain_sources and not self._from_database()

    def _retained_missing(self) -> bool:
        """Whether the current source should be retained and is not (a ``stat``, no hashing)."""
        if not self._retaining():
            return False
        path = source_path(self.settings, str(self.dataset))
        dataset_hash = source_hash(self.settings, str(self.dataset))
        return not retained_path(self.settings.cache_path, dataset_hash, path.suffix).is_file()

    def complete(self) -> bool:
        """The target exists and, when sources are retained, so does the copy of the source it was read from.

        A fetch whose target is reused (cached) but whose source copy is missing -- retention was
        off when it ran, or the copy was removed -- runs only to make the copy (:meth:`run`).
        """
        if not super().complete():
            return False
        try:
            return not self._retained_missing()
        except Exception:  # as AkerTask.complete: never raise from a completeness check
            return False

    def run(self) -> None:
        """Fetch (retaining the source), or, when the target already exists, only retain the source."""
        super().run()
        if self._retained_missing():
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
            url=self._source_label(),
            fetched_at=dt.datetime.now(dt.UTC),
            hash=source_hash(self.settings, str(self.dataset)),
        )

    def _why_empty(self, raw_rows: int) -> str:
        """Why the dataset has no row as of the date (only asked when it has none)."""
        where = f"dataset {self.dataset!r} ({self._source_label()})"
        if raw_rows == 0:
            return f"{where} has no data rows"
        import pyarrow.compute as pc

        from aker_core.sources.reader import read_dataset

        if self._from_database():
            vintages = _db_table(self.settings.database_url, str(self.dataset))[0]["data_vintage"]
        else:
            vintages = read_dataset(str(self.dataset), source_path(self.settings, str(self.dataset)))["data_vintage"]
        earliest = pc.min(vintages).as_py()
        return f"as_of {self.as_of} is before every data_vintage of {where} (earliest {earliest})"

    def execute(self, run: RunContext, target: CacheTarget) -> dict[str, Any]:
        """Read, validate, apply the point-in-time rule and write the parquet target."""
        from aker_core.sources.reader import read_dataset_as_of, table_as_of
        from aker_tasks.io import schema_doc, write_parquet

        self.report(f"reading {self.dataset} from {self._source_label()}", percent=5)
        before = source_hash(self.settings, str(self.dataset))
        if self._from_database():
            table = _db_table(self.settings.database_url, str(self.dataset))[0]
            raw_rows = table.num_rows
            table = table_as_of(table, self.as_of)
        else:
            # Reading and validating is ~90 % of a fetch: report it per column batch.
            table, raw_rows = read_dataset_as_of(
                str(self.dataset),
                source_path(self.settings, str(self.dataset)),
                self.as_of,
                progress=lambda fraction: self.report(percent=5 + int(85 * fraction)),
            )
        if table.num_rows == 0:
            raise DataValidationError(self._why_empty(raw_rows))
        if not self._from_database() and source_hash(self.settings, str(self.dataset)) != before:
            # The target and its lineage must describe the bytes that were read.
            raise DataValidationError(
                f"dataset {self.dataset!r} ({self._source_label()}) changed while it was read; run again"
            )
        if self._retaining():
            # Before the sidecar: a fetch's result never exists without the bytes it was read from.
            retain(source_path(self.settings, str(self.dataset)), before, self.settings.cache_path)
        self.report(f"writing {table.num_rows} markets of {self.dataset}", percent=90)
        write_parquet(target, table)
        return {
            "rows": table.num_rows,
            "rows_in": raw_rows,
            "schema": schema_doc(table.schema),
            "source": {
                "uri": self.settings.source_uri,
                "location": self._source_label(),
                "dataset": self.dataset,
                "content_hash": source_hash(self.settings, str(self.dataset)),
                "rows_read": raw_rows,
            },
        }
