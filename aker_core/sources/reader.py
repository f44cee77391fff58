"""Reading one source dataset file (CSV or parquet) into its canonical, validated Arrow table.

The happy path is native Arrow: CSV columns are parsed with their final types by
``pyarrow.csv`` and parquet is read as is; only when that fails does a slower diagnostic pass
(:mod:`aker_core.sources.convert`) locate the offending rows for the error message.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aker_core.exceptions import DataValidationError
from aker_core.sources.convert import FALSE_TOKENS, NULL_TOKENS, TRUE_TOKENS, conform_column
from aker_core.sources.errors import where
from aker_core.sources.schema import SCHEMAS
from aker_core.sources.validate import validate_table

__all__ = ["read_dataset"]


def read_dataset(name: str, path: str | Path) -> pa.Table:
    """Read and validate dataset ``name`` from a ``.csv`` or ``.parquet`` file.

    Extra columns are ignored and dropped; empty cells and NaN in metric columns are missing
    values. CSV flags accept ``true``/``false``/``1``/``0`` (any case).

    Args:
        name: ``markets``, ``market_supply``, ``market_jobs``, ``market_urban`` or ``market_outdoors``.
        path: the file.

    Returns:
        The table in the canonical schema (:data:`~aker_core.sources.schema.SCHEMAS`): ``msa_id``
        string, ``data_vintage`` date32, metrics float64, ``lastmile_flag`` bool.

    Raises:
        DataValidationError: naming dataset, file, column and offending rows -- missing column,
            non-numeric text, unparseable or missing date, empty/null ``msa_id``, duplicate key,
            infinite value, no rows, or an unreadable file.
    """
    if name not in SCHEMAS:
        raise DataValidationError(f"unknown dataset {name!r}; expected one of {', '.join(SCHEMAS)}")
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{where(name, path)}: file not found")
    if path.stat().st_size == 0:
        raise DataValidationError(f"{where(name, path)}: no rows (the file is empty)")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table = _read_csv(name, path)
    elif suffix == ".parquet":
        table = _read_parquet(name, path)
    else:
        raise DataValidationError(f"{where(name, path)}: unsupported file type {suffix!r} (use .csv or .parquet)")
    return validate_table(name, path, table)


def _missing_columns(name: str, path: Path, present: list[str]) -> None:
    missing = [c for c in SCHEMAS[name].names if c not in present]
    if missing:
        raise DataValidationError(
            f"{where(name, path)}: missing column(s) {', '.join(repr(c) for c in missing)} "
            f"(found: {', '.join(present) or 'none'})"
        )


def _csv_header(name: str, path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        try:
            header = next(csv.reader(handle), [])
        except (csv.Error, UnicodeDecodeError) as e:
            raise DataValidationError(f"{where(name, path)}: unreadable CSV header: {e}") from e
    if not header:
        raise DataValidationError(f"{where(name, path)}: no rows (no header line)")
    return [h.strip() for h in header]


def _read_csv(name: str, path: Path) -> pa.Table:
    schema = SCHEMAS[name]
    header = _csv_header(name, path)
    _missing_columns(name, path, header)
    options = pacsv.ConvertOptions(
        column_types={f.name: f.type for f in schema},
        include_columns=schema.names,
        null_values=NULL_TOKENS,
        true_values=TRUE_TOKENS + [t.upper() for t in TRUE_TOKENS] + [t.title() for t in TRUE_TOKENS],
        false_values=FALSE_TOKENS + [t.upper() for t in FALSE_TOKENS] + [t.title() for t in FALSE_TOKENS],
        strings_can_be_null=False,
    )
    read = pacsv.ReadOptions(column_names=header, skip_rows=1)
    try:
        return pacsv.read_csv(path, read_options=read, convert_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        # Native parsing failed; re-read as text to say which rows are wrong.
        _diagnose_csv(name, path, header, e)
        match = re.search(r"column #(\d+)", str(e))
        column = f" column {header[int(match.group(1))]!r}:" if match and int(match.group(1)) < len(header) else ""
        raise DataValidationError(f"{where(name, path)}:{column} cannot parse CSV: {e}") from e


def _diagnose_csv(name: str, path: Path, header: list[str], error: Exception) -> None:
    schema = SCHEMAS[name]
    options = pacsv.ConvertOptions(
        column_types={f.name: pa.string() for f in schema},
        include_columns=schema.names,
        strings_can_be_null=False,
    )
    try:
        text = pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(column_names=header, skip_rows=1), convert_options=options
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise DataValidationError(f"{where(name, path)}: malformed CSV: {e}") from error
    try:
        for field in schema:
            conform_column(name, path, text, field.name, field.type)
    except DataValidationError as e:
        raise e from error


def _read_parquet(name: str, path: Path) -> pa.Table:
    schema = SCHEMAS[name]
    try:
        present = pq.read_schema(path).names
        _missing_columns(name, path, present)
        raw = pq.read_table(path, columns=schema.names)
    except DataValidationError:
        raise
    except (pa.ArrowException, OSError) as e:
        raise DataValidationError(f"{where(name, path)}: unreadable parquet file (truncated or corrupt?): {e}") from e
    columns = [conform_column(name, path, raw, f.name, f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)
