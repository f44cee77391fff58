"""Checks every canonical source table must pass, whether read from a file or the database."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.exceptions import DataValidationError
from aker_core.sources.errors import row_error, where
from aker_core.sources.location import MARKETS
from aker_core.sources.schema import KEY_COLUMNS, SCHEMAS, TEXT_MAX_LENGTH

__all__ = ["check_values", "validate_keys", "validate_table"]


def validate_table(name: str, path: Path | str | None, table: pa.Table) -> pa.Table:
    """Validate a table already in (or castable to) the canonical schema of ``name``.

    ``msa_id`` is stripped of surrounding whitespace (an invisible space would otherwise make
    two spellings of one market). Checks run keys first (``msa_id``, ``name``/``data_vintage``,
    duplicates), then each metric column in schema order; the first failing check is reported.

    Returns:
        The table in canonical column order, one chunk per column.

    Raises:
        DataValidationError: no rows, empty/null ``msa_id``, null ``name``/``data_vintage``,
            duplicate key, infinite metric.
    """
    schema = SCHEMAS[name]
    if table.num_rows == 0:
        raise DataValidationError(f"{where(name, path)}: no rows (header only)")
    table = table.select(schema.names).cast(schema).combine_chunks()
    keys = validate_keys(name, path, table.select(list(_key_fields(name))))
    table = table.set_column(0, "msa_id", keys.column("msa_id"))
    for field in schema:
        if field.name not in keys.column_names:
            check_values(name, path, field.name, table.column(field.name), keys.column("msa_id"))
    return table


def _key_fields(name: str) -> tuple[str, ...]:
    # markets' name is checked with the keys: a market without a name is as unusable as no id.
    return ("msa_id", "name") if name == MARKETS else KEY_COLUMNS[name]


def validate_keys(name: str, path: Path | str | None, keys: pa.Table) -> pa.Table:
    """Validate the identifying columns of a dataset (``msa_id`` and ``data_vintage``, or ``name``).

    Args:
        name: the dataset.
        path: the file (or a database label) for messages.
        keys: those columns, already in their canonical types.

    Returns:
        ``keys`` with ``msa_id`` stripped of surrounding whitespace.

    Raises:
        DataValidationError: no rows, empty/null ``msa_id``, null ``name``/``data_vintage``, text
            the database column cannot hold (longer than :data:`TEXT_MAX_LENGTH`, or with a NUL
            character), duplicate key.
    """
    if keys.num_rows == 0:
        raise DataValidationError(f"{where(name, path)}: no rows (header only)")
    ids = pc.utf8_trim_whitespace(keys.column("msa_id"))
    keys = keys.set_column(keys.column_names.index("msa_id"), "msa_id", ids)
    bad = pc.or_kleene(pc.is_null(ids), pc.equal(ids, ""))
    if pc.any(bad).as_py():
        raise row_error(name, path, "msa_id", "empty or null msa_id", bad, keys)
    for column in ("name", "data_vintage"):
        if column in keys.column_names and keys.column(column).null_count:
            problem = "missing date" if column == "data_vintage" else "missing value"
            raise row_error(name, path, column, problem, pc.is_null(keys.column(column)), keys)
    for column in ("msa_id", "name"):
        if column in keys.column_names:
            _check_text(name, path, column, keys)
    _check_unique(name, path, keys)
    return keys


def _check_text(name: str, path: Path | str | None, column: str, keys: pa.Table) -> None:
    """Refuse text the database column cannot hold, so both backends accept the same data.

    SQLite stores any text whatever the declared ``String(n)``; PostgreSQL refuses longer values
    and NUL characters -- at the final write, after every task ran. Checked here, at fetch time.
    """
    values = keys.column(column)
    # Cheap proofs first (well under 1 ms per million values): no zero byte in the data buffers,
    # and no value longer in bytes than the limit allows in characters.
    if _may_hold_nul(values):
        nul = pc.match_substring(values, "\x00")
        if pc.any(nul).as_py():
            raise row_error(name, path, column, "NUL character (not allowed in text)", nul, keys)
    limit = TEXT_MAX_LENGTH[column]
    if (pc.max(pc.binary_length(values)).as_py() or 0) <= limit:
        return
    lengths = pc.utf8_length(values)
    if (pc.max(lengths).as_py() or 0) > limit:
        problem = f"value longer than {limit} characters (the database column's limit)"
        raise row_error(name, path, column, problem, pc.greater(lengths, limit), keys)


def _may_hold_nul(values: pa.ChunkedArray) -> bool:
    """Whether a zero byte occurs in the data buffers (a slice's buffer may hold bytes of values
    outside it: ``True`` only means "look closer")."""
    for chunk in values.chunks:
        data = chunk.buffers()[2]
        if data is not None and data.size and not np.frombuffer(data, np.uint8).all():
            return True
    return False


def check_values(
    name: str, path: Path | str | None, column: str, values: pa.Array | pa.ChunkedArray, ids: pa.ChunkedArray
) -> None:
    """Check one metric column (in its canonical type): no infinite value.

    Args:
        name: the dataset.
        path: the file (or a database label) for messages.
        column: the column's name.
        values: its values, one per row.
        ids: the rows' ``msa_id``, to label offending rows.

    Raises:
        DataValidationError: an infinite value, naming the rows.
    """
    if not pa.types.is_floating(values.type):
        return
    inf = pc.is_inf(values)
    if pc.any(inf).as_py():
        raise row_error(name, path, column, "infinite value", inf, pa.table({"msa_id": ids, column: values}))


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
