"""Source datasets: where they live, reading and validating them, and reading them from the database.

A source directory holds ``markets`` and ``market_supply``/``market_jobs``/``market_urban``/
``market_outdoors``, each as ``<name>.parquet`` or ``<name>.csv``. Readers return the canonical
Arrow schema of :data:`SCHEMAS` or raise :class:`~aker_core.exceptions.DataValidationError`
naming dataset, file, column and offending rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aker_core.lazy import lazy_exports

if TYPE_CHECKING:  # real imports for type checkers; at run time names load on first use
    from aker_core.sources.database import read_table_from_db
    from aker_core.sources.location import (
        DATABASE_SOURCE,
        DATASETS,
        MARKETS,
        SAMPLE_DIR,
        SOURCE_TABLES,
        content_hash,
        dataset_path,
        resolve_source_dir,
    )
    from aker_core.sources.reader import read_dataset, read_dataset_as_of
    from aker_core.sources.schema import KEY_COLUMNS, SCHEMAS
    from aker_core.sources.validate import validate_table

_EXPORTS = {
    "read_table_from_db": "aker_core.sources.database",
    "DATABASE_SOURCE": "aker_core.sources.location",
    "SAMPLE_DIR": "aker_core.sources.location",
    "content_hash": "aker_core.sources.location",
    "dataset_path": "aker_core.sources.location",
    "resolve_source_dir": "aker_core.sources.location",
    "read_dataset": "aker_core.sources.reader",
    "read_dataset_as_of": "aker_core.sources.reader",
    "DATASETS": "aker_core.sources.location",
    "KEY_COLUMNS": "aker_core.sources.schema",
    "MARKETS": "aker_core.sources.location",
    "SCHEMAS": "aker_core.sources.schema",
    "SOURCE_TABLES": "aker_core.sources.location",
    "validate_table": "aker_core.sources.validate",
}
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())

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
    "read_dataset_as_of",
    "read_table_from_db",
    "resolve_source_dir",
    "validate_table",
]
