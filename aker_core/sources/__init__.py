"""Source datasets: where they live, reading and validating them, and reading them from the database.

A source directory holds ``markets`` and ``market_supply``/``market_jobs``/``market_urban``/
``market_outdoors``, each as ``<name>.parquet`` or ``<name>.csv``. Readers return the canonical
Arrow schema of :data:`SCHEMAS` or raise :class:`~aker_core.exceptions.DataValidationError`
naming dataset, file, column and offending rows.
"""

from __future__ import annotations

from aker_core.sources.database import read_table_from_db
from aker_core.sources.location import (
    DATABASE_SOURCE,
    SAMPLE_DIR,
    content_hash,
    dataset_path,
    resolve_source_dir,
)
from aker_core.sources.reader import read_dataset
from aker_core.sources.schema import DATASETS, KEY_COLUMNS, MARKETS, SCHEMAS, SOURCE_TABLES
from aker_core.sources.validate import validate_table

__all__ = [
    "DATABASE_SOURCE",
    "DATASETS",
    "KEY_COLUMNS",
    "MARKETS",
    "SAMPLE_DIR",
    "SCHEMAS",
    "SOURCE_TABLES",
    "content_hash",
    "dataset_path",
    "read_dataset",
    "read_table_from_db",
    "resolve_source_dir",
    "validate_table",
]
