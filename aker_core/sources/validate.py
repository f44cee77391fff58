"""Checks every canonical source table must pass, whether read from a file or the database."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.exceptions import DataValidationError
from aker_core.sources.errors import row_error, where
from aker_core.sources.schema import KEY_COLUMNS, SCHEMAS

__all__ = ["validate_table"]


def validate_table(name: str, path: Path | str | None, table: pa.Table) -> pa.Table:
    """Validate a table already in (or castable to) the canonical schema of ``name``.

    ``msa_id`` is stripped of surrounding whitespace (an invisible space would otherwise make
    two spellings of one market).

    Returns:
        The table in canonical column order, one chunk per column.

    Raises:
        DataValidationError: no rows, empty/null ``msa_id``, null ``name``/``data_vintage``,
            infinite metric, duplicate key.
    """
    schema = SCHEMAS[name]
    if table.num_rows == 0:
        raise DataValidationError(f"{where(name, path)}: no rows (header only)")
    table = table.select(schema.names).cast(schema).combine_chunks()
    ids = pc.utf8_trim_whitespace(table.column("msa_id"))
    table = table.set_column(0, "msa_id", ids)
    bad = pc.or_kleene(pc.is_null(ids), pc.equal(ids, ""))
    if pc.any(bad).as_py():
        raise row_error(name, path, "msa_id", "empty or null msa_id", bad, table)
    for field in schema:
        column = table.column(field.name)
        if field.name in ("name", "data_vintage") and column.null_count:
            problem = "missing date" if field.name == "data_vintage" else "missing value"
            raise row_error(name, path, field.name, problem, pc.is_null(column), table)
        if pa.types.is_floating(field.type):
            inf = pc.is_inf(column)
            if pc.any(inf).as_py():
                raise row_error(name, path, field.name, "infinite value", inf, table)
    _check_unique(name, path, table)
    return table


def _sorted_unique(table: pa.Table, keys: list[str]) -> bool:
    """Whether rows strictly increase by the key columns (no nulls), which proves them unique.

    Files and database reads usually come sorted by key; this vectorised comparison of adjacent
    rows is then the whole check, with no hashing. ``False`` only means "not proven".
    """
    if table.num_rows < 2:
        return True
    ids = table.column("msa_id").combine_chunks()
    increasing = pc.less(ids[:-1], ids[1:])
    if len(keys) > 1:
        days = table.column(keys[1]).combine_chunks()
        increasing = pc.or_(increasing, pc.and_(pc.equal(ids[:-1], ids[1:]), pc.less(days[:-1], days[1:])))
    return bool(pc.all(increasing).as_py())


def _check_unique(name: str, path: Path | str | None, table: pa.Table) -> None:
    keys = list(KEY_COLUMNS[name])
    if _sorted_unique(table, keys):
        return
    # Unsorted input: one hash aggregation (measured faster than dictionary codes + count_distinct).
    groups = table.select(keys).group_by(keys).aggregate([([], "count_all")])
    if groups.num_rows == table.num_rows:
        return
    # Duplicates: locate every duplicated row for the message.
    dup_keys = groups.filter(pc.greater(groups.column("count_all"), 1)).select(keys)
    indexed = table.select(keys).append_column("_row", pa.array(np.arange(table.num_rows)))
    rows = indexed.join(dup_keys, keys=keys, join_type="inner").column("_row").to_numpy()
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[rows] = True
    label = "(" + ", ".join(keys) + ")" if len(keys) > 1 else keys[0]
    values = None
    if len(keys) > 1:
        values = pc.cast(table.column("data_vintage"), pa.string())
    raise row_error(name, path, keys[-1], f"duplicate {label}", mask, table, values)
