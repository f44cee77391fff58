"""Sample data: the bundled CSV sample (``data/``), a synthetic generator and a database loader.

Command line::

    python -m aker_core.sample --markets 100000 --vintages 2 --out DIR [--seed N] [--format parquet|csv]
    python -m aker_core.sample load [--source DIR]
"""

from __future__ import annotations

from aker_core.sample.generator import generate, write_datasets
from aker_core.sample.loader import load_source_dir, load_tables
from aker_core.sources.location import SAMPLE_DIR

__all__ = ["SAMPLE_DIR", "generate", "load_source_dir", "load_tables", "write_datasets"]
