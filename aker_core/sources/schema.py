"""The canonical schemas of the five source datasets (their names: :data:`~aker_core.sources.location.DATASETS`).

Metric columns come from :mod:`aker_core.scoring.rules` so a new metric needs one edit there.
"""

from __future__ import annotations

import pyarrow as pa

from aker_core.scoring.rules import FLAG_COLUMNS, METRIC_COLUMNS
from aker_core.sources.location import DATASETS, MARKETS, SOURCE_TABLES

__all__ = ["KEY_COLUMNS", "SCHEMAS", "TEXT_MAX_LENGTH", "metric_columns"]

#: Columns that identify a row (unique together).
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    MARKETS: ("msa_id",),
    **{t: ("msa_id", "data_vintage") for t in SOURCE_TABLES},
}

#: Text column -> the most characters its database column holds (``String(n)`` in
#: :mod:`aker_data.models`; a test keeps the two equal). Validation refuses longer values and NUL
#: characters (which PostgreSQL text cannot hold) on every backend, before anything is written.
TEXT_MAX_LENGTH: dict[str, int] = {"msa_id": 32, "name": 255}


def metric_columns(dataset: str) -> tuple[str, ...]:
    """The metric columns of ``dataset`` (none for ``markets``)."""
    return METRIC_COLUMNS.get(dataset, ())


def _schema(dataset: str) -> pa.Schema:
    if dataset == MARKETS:
        return pa.schema([("msa_id", pa.string()), ("name", pa.string())])
    flags = set(FLAG_COLUMNS[dataset])
    return pa.schema(
        [("msa_id", pa.string()), ("data_vintage", pa.date32())]
        + [(m, pa.bool_() if m in flags else pa.float64()) for m in METRIC_COLUMNS[dataset]]
    )


#: Dataset -> canonical Arrow schema (column order included).
SCHEMAS: dict[str, pa.Schema] = {d: _schema(d) for d in DATASETS}
