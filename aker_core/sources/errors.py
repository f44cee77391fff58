"""Readable validation errors: dataset, file, column, a few offending rows and a total count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from aker_core.exceptions import DataValidationError

__all__ = ["MAX_EXAMPLES", "printable", "row_error", "where"]

#: How many offending rows a message shows; the total is always given.
MAX_EXAMPLES = 5


def printable(text: object) -> str:
    """``str(text)`` with line breaks, NUL and other control characters escaped (``\\n``, ``\\x00``).

    Every message quoting something from a file (a column name, a parser's error about a row)
    goes through this: an error is one line, and PostgreSQL can store it (a NUL cannot be).
    """
    value = str(text)
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def where(dataset: str, path: Path | str | None) -> str:
    """``dataset 'x' (file)``: the prefix of every message about one dataset file."""
    return f"dataset {dataset!r} ({printable(path)})" if path is not None else f"dataset {dataset!r}"


def row_error(
    dataset: str,
    path: Path | str | None,
    column: str,
    problem: str,
    mask: np.ndarray | pa.Array | pa.ChunkedArray,
    table: pa.Table,
    values: pa.Array | pa.ChunkedArray | None = None,
) -> DataValidationError:
    """Build the error for the rows where ``mask`` is true.

    Args:
        dataset: dataset name.
        path: the file read (or ``None`` for a database table).
        column: the offending column.
        problem: what is wrong, e.g. ``"non-numeric value"``.
        mask: boolean per row (nulls count as false).
        table: the table being validated; its ``msa_id`` column, when usable, labels rows.
        values: the raw values to quote; defaults to ``table[column]`` when present.

    Returns:
        A :class:`DataValidationError` (the caller raises it, so tracebacks point at the check).
    """
    if not isinstance(mask, np.ndarray):
        mask = np.asarray(pa.chunked_array([mask]).combine_chunks().fill_null(False).to_numpy(zero_copy_only=False))
    rows = np.flatnonzero(mask)
    total = len(rows)
    shown = rows[:MAX_EXAMPLES]
    if values is None and column in table.column_names:
        values = table.column(column)
    ids = table.column("msa_id") if "msa_id" in table.column_names else None
    examples = []
    for i in shown.tolist():
        label = f"row {i + 1}"
        if ids is not None and column != "msa_id":
            msa = ids[i].as_py()
            if isinstance(msa, bytes):  # a CSV read as bytes to locate invalid UTF-8
                msa = msa.decode("utf-8", "replace")
            if msa not in (None, ""):
                label += f" (msa_id {msa!r})"
        if values is not None:
            label += f": {values[i].as_py()!r}"
        examples.append(label)
    more = f", ... ({total - len(shown)} more)" if total > len(shown) else ""
    noun = "row" if total == 1 else "rows"
    return DataValidationError(
        f"{where(dataset, path)}: column {column!r}: {problem} in {total} {noun} "
        f"(data rows, 1-based): {'; '.join(examples)}{more}"
    )
