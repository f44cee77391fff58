"""Report fixtures: the bundled sample scored as of 2024-06-01 (rank changes against 2023-12-31)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from aker_core.sources import DATASETS, SAMPLE_DIR, dataset_path, read_dataset
from tests.browser import browser, browser_page  # noqa: F401  (fixtures for the browser tests)
from tests.core.report.scores_fixture import build_scores

AS_OF = dt.date(2024, 6, 1)
PREVIOUS = dt.date(2023, 12, 31)


@pytest.fixture(scope="session")
def sample_tables() -> dict[str, pa.Table]:
    """The bundled sample datasets, every vintage."""
    return {d: read_dataset(d, dataset_path(SAMPLE_DIR, d)) for d in DATASETS}


@pytest.fixture(scope="session")
def sample_scores(sample_tables: dict[str, pa.Table]) -> tuple[pa.Table, pa.Table]:
    """(scores in the export contract, metrics) of the sample as of :data:`AS_OF`."""
    return build_scores(sample_tables, AS_OF, PREVIOUS)
