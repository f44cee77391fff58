"""read_dataset_sorted: every row of read_dataset, in key order, read column batch by batch."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aker_core.exceptions import DataValidationError
from aker_core.sample import generate
from aker_core.scoring.asof import sort_by_key
from aker_core.sources import DATASETS, read_dataset
from aker_core.sources.reader import read_dataset_sorted


@pytest.mark.parametrize("name", DATASETS)
def test_shuffled_parquet_reads_as_read_dataset_sorted(name: str, tmp_path) -> None:
    """Rows in random order come back equal to read_dataset's, sorted by (msa_id, data_vintage)."""
    table = generate(200, vintages=3, seed=5)[name]
    shuffled = table.take(pa.array(np.random.default_rng(1).permutation(table.num_rows)))
    path = tmp_path / f"{name}.parquet"
    pq.write_table(shuffled, path, row_group_size=97)
    got = read_dataset_sorted(name, path)
    assert got.equals(sort_by_key(read_dataset(name, path)))
    assert got.column("msa_id").to_pylist() == sorted(got.column("msa_id").to_pylist())


def test_bad_metric_is_the_same_error_as_read_dataset(tmp_path) -> None:
    """An infinite metric value is reported naming the column, as the whole-file reader does."""
    table = generate(50, vintages=2, seed=2)["market_jobs"]
    column = next(f.name for f in table.schema if pa.types.is_floating(f.type))
    values = table.column(column).to_pylist()
    values[7] = float("inf")
    table = table.set_column(table.schema.get_field_index(column), column, pa.array(values, pa.float64()))
    path = tmp_path / "market_jobs.parquet"
    pq.write_table(table, path)
    with pytest.raises(DataValidationError) as whole:
        read_dataset("market_jobs", path)
    with pytest.raises(DataValidationError) as sorted_read:
        read_dataset_sorted("market_jobs", path)
    assert column in str(sorted_read.value) and str(sorted_read.value) == str(whole.value)
