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


def _keys_unique(table: pa.Table, keys: list[str]) -> bool:
    """Whether the key columns (no nulls) are unique together; cheap on the happy path.

    Files and database reads usually come sorted by key, and then uniqueness is just strict
    increase of adjacent rows (a vectorised comparison, no hashing). Otherwise one hash count of
    the distinct keys packed into int64 (msa_id's dictionary code, then the vintage day).
    """
    n = table.num_rows
    ids = table.column("msa_id").combine_chunks()
    if n < 2:
        return True
    if len(keys) == 1:
        if pc.all(pc.less(ids[:-1], ids[1:])).as_py():
            return True
        return bool(pc.count_distinct(ids).as_py() == n)
    days = table.column(keys[1]).combine_chunks()
    same_id = pc.equal(ids[:-1], ids[1:])
    increasing = pc.or_(pc.less(ids[:-1], ids[1:]), pc.and_(same_id, pc.less(days[:-1], days[1:])))
    if pc.all(increasing).as_py():
        return True
    codes = pc.dictionary_encode(ids).indices.to_numpy().astype(np.int64)
    day_numbers = days.cast(pa.int32()).to_numpy().astype(np.int64)
    # Days fit in 32 bits (date32), so (code, day) packs losslessly; shift by 32 then offset.
    packed = (codes << 32) | (day_numbers - np.iinfo(np.int32).min)
    return bool(pc.count_distinct(pa.array(packed)).as_py() == n)


def _check_unique(name: str, path: Path | str | None, table: pa.Table) -> None:
    keys = list(KEY_COLUMNS[name])
    if _keys_unique(table, keys):
        return
    # Slow path, only with duplicates: locate every duplicated row for the message.
    groups = table.select(keys).group_by(keys).aggregate([([], "count_all")])
    if groups.num_rows == table.num_rows:
        return
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
