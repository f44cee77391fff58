"""Loading a source directory into the run database's ``markets`` and ``market_*`` tables (upsert)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from aker_core.markets.bulk import upsert_columns
from aker_core.sources import DATASETS, KEY_COLUMNS, dataset_path, read_dataset, resolve_source_dir
from aker_data.models import Base

__all__ = ["load_source_dir", "load_tables"]


def _column_lists(table: pa.Table) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_floating(column.type):
            column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
        out[name] = column.to_pylist()
    return out


def load_tables(bind: Connection | Session, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Upsert canonical dataset tables; existing keys are updated, so loading twice is idempotent.

    Returns:
        Dataset name -> rows written.
    """
    counts = {}
    for name in DATASETS:
        if name in tables:
            counts[name] = upsert_columns(
                bind, Base.metadata.tables[name], _column_lists(tables[name]), KEY_COLUMNS[name]
            )
    return counts


def load_source_dir(bind: Connection | Session, source: str | Path = "sample") -> dict[str, int]:
    """Read, validate and upsert every dataset of a source directory (default: the bundled sample).

    Args:
        bind: connection or session; the caller commits.
        source: ``'sample'``, a directory or a ``file://`` URL.

    Raises:
        DataValidationError: a dataset is missing or invalid (nothing is written then).
    """
    directory = resolve_source_dir(str(source))
    tables = {name: read_dataset(name, dataset_path(directory, name)) for name in DATASETS}
    return load_tables(bind, tables)
