"""Converting text (or loosely typed) columns to canonical types, locating the rows that fail.

The fast readers let Arrow parse numbers natively; this module runs only when that fails (or a
parquet column holds text) and finds, vectorised, exactly which rows are the problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.exceptions import DataValidationError
from aker_core.sources.errors import printable, row_error, where

__all__ = ["FALSE_TOKENS", "NULL_TOKENS", "TRUE_TOKENS", "conform_column"]

#: Cell texts meaning "missing" in a numeric, date or flag column.
NULL_TOKENS: list[str] = ["", "NA", "N/A", "null", "NULL", "None"]
#: Flag spellings accepted in CSV (compared case-insensitively).
TRUE_TOKENS: list[str] = ["true", "1"]
FALSE_TOKENS: list[str] = ["false", "0"]

# RE2 syntax (pyarrow.compute); NaN and inf are recognised so that inf is reported as infinite.
_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(?i:nan|inf|infinity)$"


def _text(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    trimmed = pc.utf8_trim_whitespace(column)
    missing = pc.or_kleene(pc.is_null(trimmed), pc.is_in(trimmed, value_set=pa.array(NULL_TOKENS)))
    return trimmed, missing


def conform_column(
    dataset: str, path: Path | str | None, table: pa.Table, name: str, target: pa.DataType
) -> pa.ChunkedArray:
    """``table[name]`` converted to ``target`` (float64, date32, bool or string).

    Text (or bytes, which must be UTF-8) is parsed row by row; integers and decimals become
    float64; a null-typed column (no value at all) is all missing; 0/1 integers are flags. A
    boolean column is not a number.

    Raises:
        DataValidationError: naming the rows whose value cannot be converted, or the column's type
            when it cannot hold such values at all.
    """
    column = table.column(name)
    if column.type == target:
        return column
    kind = column.type
    if pa.types.is_null(kind):
        # A column with no value at all (parquet's null type): every row missing.
        return pc.cast(column, target)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind):
        column = _utf8(dataset, path, table, name, column)
        kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return _from_text(dataset, path, table, name, pc.cast(column, pa.string()), target)
    if pa.types.is_dictionary(kind):
        return conform_column(
            dataset,
            path,
            table.set_column(table.column_names.index(name), name, pc.cast(column, kind.value_type)),
            name,
            target,
        )
    try:
        if target == pa.float64() and (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        ):
            # Decimals become the nearest double, as the same number written in a CSV would.
            return pc.cast(column, target)
        if target == pa.bool_() and pa.types.is_integer(kind):
            bad = pc.invert(pc.is_in(column, value_set=pa.array([0, 1], kind)))
            if pc.any(bad).as_py():
                raise row_error(dataset, path, name, "flag value other than 0/1", bad, table)
            return pc.cast(column, target)
        if target == pa.date32() and (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
            return pc.cast(column, target)
        if target == pa.string() and pa.types.is_integer(kind):
            return pc.cast(column, target)
    except pa.ArrowInvalid as e:
        raise DataValidationError(
            f"{where(dataset, path)}: column {name!r}: cannot convert {kind}: {printable(e)}"
        ) from e
    raise DataValidationError(f"{where(dataset, path)}: column {name!r} has type {kind}, expected {target}")


def _utf8(
    dataset: str, path: Path | str | None, table: pa.Table, name: str, column: pa.ChunkedArray
) -> pa.ChunkedArray:
    """Bytes as text; invalid UTF-8 is an error naming the rows."""
    try:
        return pc.cast(column, pa.string())
    except pa.ArrowInvalid:
        pass
    # Only on failure: locate the offending values one by one (Arrow has no vectorised check).
    bad = np.array([_not_utf8(v) for v in column.to_pylist()], dtype=bool)
    raise row_error(dataset, path, name, "invalid UTF-8 (a byte that is not text)", bad, table, column)


def _not_utf8(value: bytes | None) -> bool:
    if value is None:
        return False
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _from_text(
    dataset: str, path: Path | str | None, table: pa.Table, name: str, column: pa.ChunkedArray, target: pa.DataType
) -> pa.ChunkedArray:
    if target == pa.string():
        return column
    trimmed, missing = _text(column)
    if target == pa.float64():
        ok = pc.match_substring_regex(trimmed, _NUMBER)
        bad = pc.and_(pc.invert(missing), pc.invert(ok))
        if pc.any(bad).as_py():
            raise row_error(dataset, path, name, "non-numeric value", bad, table, column)
        return pc.cast(pc.if_else(missing, pa.scalar(None, pa.string()), trimmed), pa.float64())
    if target == pa.date32():
        parsed = pc.strptime(trimmed, format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime rolls impossible days over (2024-02-30 -> March 1st); a round trip catches that.
        round_trip = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), trimmed)
        bad = pc.and_(pc.invert(missing), pc.invert(pc.fill_null(round_trip, False)))
        if pc.any(bad).as_py():
            raise row_error(dataset, path, name, "unparseable date (expected YYYY-MM-DD)", bad, table, column)
        return pc.cast(parsed, pa.date32())
    if target == pa.bool_():
        lower = pc.utf8_lower(trimmed)
        is_true = pc.is_in(lower, value_set=pa.array(TRUE_TOKENS))
        is_false = pc.is_in(lower, value_set=pa.array(FALSE_TOKENS))
        bad = pc.and_(pc.invert(missing), pc.invert(pc.or_(is_true, is_false)))
        if pc.any(bad).as_py():
            raise row_error(dataset, path, name, "flag value other than true/false/1/0", bad, table, column)
        return pc.if_else(missing, pa.scalar(None, pa.bool_()), is_true)
    raise DataValidationError(f"{where(dataset, path)}: column {name!r}: unsupported target type {target}")
