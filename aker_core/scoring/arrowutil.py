"""Small Arrow helpers shared by the scoring modules: msa_id typing, ordering and numeric views."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.exceptions import ScoringError

__all__ = ["as_float64", "is_sorted_unique", "msa_ids", "sort_by_msa_id"]


def msa_ids(table: pa.Table) -> pa.Array:
    """The ``msa_id`` column as one contiguous ``string`` array.

    Raises:
        ScoringError: the column is missing or holds nulls.
    """
    if "msa_id" not in table.column_names:
        raise ScoringError(f"table has no 'msa_id' column (columns: {table.column_names})")
    column = table.column("msa_id")
    if column.type != pa.string():
        column = pc.cast(column, pa.string())
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if array.null_count:
        raise ScoringError(f"msa_id has {array.null_count} null value(s)")
    return array


def is_sorted_unique(ids: pa.Array) -> bool:
    """Whether ``ids`` is strictly increasing (sorted, no duplicates), checked vectorised."""
    if len(ids) < 2:
        return True
    return bool(pc.all(pc.less(ids[:-1], ids[1:])).as_py())


def sort_by_msa_id(table: pa.Table) -> pa.Table:
    """``table`` with a ``string`` ``msa_id`` column, sorted by it (skips the sort when already sorted)."""
    ids = msa_ids(table) if table.num_rows else pa.array([], pa.string())
    table = table.set_column(table.column_names.index("msa_id"), "msa_id", ids)
    if is_sorted_unique(ids):
        return table
    return table.take(pc.sort_indices(ids))


def as_float64(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numeric or boolean column as a float64 numpy array with NaN for nulls.

    Raises:
        ScoringError: the column is neither numeric nor boolean.
    """
    if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type) or pa.types.is_boolean(column.type)):
        raise ScoringError(f"expected a numeric or boolean column, got {column.type}")
    if column.type != pa.float64():
        column = pc.cast(column, pa.float64())
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.null_count:
        column = pc.fill_null(column, float("nan"))
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
