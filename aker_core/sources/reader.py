"""Reading one source dataset file (CSV or parquet) into its canonical, validated Arrow table.

The happy path is native Arrow: CSV columns are parsed with their final types by
``pyarrow.csv`` and parquet is read as is. Only when Arrow refuses a CSV cell does a slower pass
read the cells as bytes and convert them (:mod:`aker_core.sources.convert`): it accepts what the
native parser does not (a whitespace-only cell is missing) and otherwise names the offending rows
(invalid UTF-8, wrong number of cells, unparseable values).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from aker_core.exceptions import DataValidationError
from aker_core.sources.convert import FALSE_TOKENS, NULL_TOKENS, TRUE_TOKENS, conform_column
from aker_core.sources.errors import MAX_EXAMPLES, printable, where
from aker_core.sources.location import path_problem
from aker_core.sources.schema import SCHEMAS
from aker_core.sources.validate import check_values, validate_keys, validate_table

__all__ = ["AsOfRead", "read_dataset", "read_dataset_as_of", "read_dataset_sorted", "table_as_of"]


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
    path = _checked_file(name, path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            table = _read_csv(name, path)
        except OSError as e:  # e.g. no permission; a DataValidationError is no OSError
            raise DataValidationError(f"{where(name, path)}: cannot read the file: {printable(e)}") from e
    elif suffix == ".parquet":
        table = _read_parquet(name, path)
    else:
        raise DataValidationError(f"{where(name, path)}: unsupported file type {suffix!r} (use .csv or .parquet)")
    return validate_table(name, path, table)


#: Values (rows x columns) :func:`read_dataset_as_of` reads per parquet call: enough columns for
#: Arrow to decode them on several threads (measured 1.6x faster than one column per call at
#: both 10^5 and 10^6 markets), few enough that a million-market file is never whole in memory.
READ_BATCH_VALUES = 8_000_000


class AsOfRead(NamedTuple):
    """What :func:`read_dataset_as_of` returns."""

    #: One row per market, its latest vintage on or before the date, sorted by ``msa_id``.
    table: pa.Table
    #: Data rows in the file (every vintage), for lineage and metrics.
    rows_read: int


def read_dataset_as_of(
    name: str, path: str | Path, as_of: object, progress: Callable[[float], None] | None = None
) -> AsOfRead:
    """``latest_as_of(read_dataset(name, path), as_of)``, validated alike, in far less memory.

    A parquet file is read column by column: first the keys, which are validated and pick the
    rows to keep (:func:`~aker_core.scoring.asof.latest_rows`), then each metric column, which
    is validated over *all* its rows and cut to the kept ones at once. The whole multi-vintage
    table is never in memory (at 10^6 markets x 2 vintages that halves the peak). CSV files and
    ``markets`` (no vintages) are read whole.

    Args:
        name: a dataset name.
        path: the file.
        as_of: anything :func:`~aker_core.scoring.asof.parse_as_of` accepts.
        progress: called with the fraction of the file read so far (0-1), after the keys and
            after each batch of metric columns.

    Returns:
        The kept rows and the number of rows read.

    Raises:
        DataValidationError: as :func:`read_dataset`.
    """
    from aker_core.scoring.asof import latest_rows  # scoring imports sources

    path = _checked_file(name, path)
    if path.suffix.lower() != ".parquet" or "data_vintage" not in SCHEMAS[name].names:
        table = read_dataset(name, path)
        return AsOfRead(table_as_of(table, as_of), table.num_rows)
    return _read_parquet_rows(
        name,
        path,
        lambda keys: pa.array(latest_rows(keys.column("msa_id"), keys.column("data_vintage"), as_of)),
        progress,
    )


def read_dataset_sorted(name: str, path: str | Path, progress: Callable[[float], None] | None = None) -> pa.Table:
    """``read_dataset(name, path)`` in (``msa_id``, ``data_vintage``) order, validated alike.

    Every row is kept (every vintage). A parquet file is read as :func:`read_dataset_as_of` reads
    it, column batch by column batch, each batch validated and put in key order at once, so the
    file is never in memory twice (measured at 10^6 markets x 2 vintages, ``market_jobs``: peak
    RSS ~0.45 GB instead of ~0.9 GB for reading it whole and then sorting it).

    Raises:
        DataValidationError: as :func:`read_dataset`.
    """
    from aker_core.scoring.asof import key_order, sort_by_key  # scoring imports sources

    path = _checked_file(name, path)
    if path.suffix.lower() != ".parquet" or "data_vintage" not in SCHEMAS[name].names:
        return sort_by_key(read_dataset(name, path))  # CSV, and markets (one row per market)

    def order(keys: pa.Table) -> pa.Array | None:
        vintages = keys.column("data_vintage") if "data_vintage" in keys.column_names else None
        return key_order(keys.column("msa_id"), vintages)

    return _read_parquet_rows(name, path, order, progress).table


def _read_parquet_rows(
    name: str,
    path: Path,
    pick: Callable[[pa.Table], pa.Array | None],
    progress: Callable[[float], None] | None,
) -> AsOfRead:
    """Validate a parquet source batch of columns by batch, keeping the rows ``pick`` chooses from
    the validated keys (in its order; ``None``: every row as it is)."""
    schema = SCHEMAS[name]
    key_names = ["msa_id", "data_vintage"]
    try:
        with pq.ParquetFile(path) as source:
            _check_columns(name, path, source.schema_arrow.names)
            raw = source.read(columns=key_names)
            conformed = [conform_column(name, path, raw, c, schema.field(c).type) for c in raw.column_names]
            keys = validate_keys(name, path, pa.table(conformed, names=raw.column_names))
            rows = pick(keys)

            def kept(values: pa.ChunkedArray) -> pa.Array:
                # Take from single-chunk arrays, so each result is one chunk and needs no copy to combine.
                values = values.combine_chunks()
                return values if rows is None else values.take(rows)

            columns = [kept(keys.column(c)) for c in key_names]
            metrics = [f for f in schema if f.name not in keys.column_names]
            step = max(1, READ_BATCH_VALUES // max(keys.num_rows, 1))
            done = 0
            for start in range(0, len(metrics), step):
                if progress is not None:
                    # keys count as two columns of the total
                    progress((2 + done) / (2 + len(metrics)))
                batch = metrics[start : start + step]
                raw = source.read(columns=[f.name for f in batch]).append_column("msa_id", keys.column("msa_id"))
                for field in batch:
                    values = conform_column(name, path, raw, field.name, field.type)
                    check_values(name, path, field.name, values, keys.column("msa_id"))
                    columns.append(kept(values))
                    done += 1
                del raw  # before the next batch is read: at most one batch of full-length columns lives
    except DataValidationError:
        raise
    except (pa.ArrowException, OSError) as e:
        raise _unreadable_parquet(name, path, e) from e
    return AsOfRead(pa.Table.from_arrays(columns, schema=schema), keys.num_rows)


def table_as_of(table: pa.Table, as_of: object) -> pa.Table:
    """A whole validated source table as of a date: each market's latest vintage on or before it,
    sorted by ``msa_id``; ``markets``, which has no vintages, only sorted."""
    from aker_core.scoring.asof import latest_as_of  # scoring imports sources

    return latest_as_of(table, as_of) if "data_vintage" in table.column_names else table.sort_by("msa_id")


def _checked_file(name: str, path: str | Path) -> Path:
    if name not in SCHEMAS:
        raise DataValidationError(f"unknown dataset {name!r}; expected one of {', '.join(SCHEMAS)}")
    path = Path(path)
    problem = path_problem(path)
    if problem == "does not exist":
        raise DataValidationError(f"{where(name, path)}: file not found")
    if problem is not None:
        raise DataValidationError(f"{where(name, path)}: {problem}")
    if path.stat().st_size == 0:
        raise DataValidationError(f"{where(name, path)}: no rows (the file is empty)")
    return path


def _check_columns(name: str, path: Path, present: list[str]) -> None:
    """Raise unless every schema column is present exactly once."""
    repeated = [c for c in SCHEMAS[name].names if present.count(c) > 1]
    if repeated:
        raise DataValidationError(
            f"{where(name, path)}: column(s) {', '.join(repr(c) for c in repeated)} appear more than once"
        )
    missing = [c for c in SCHEMAS[name].names if c not in present]
    if missing:
        raise DataValidationError(
            f"{where(name, path)}: missing column(s) {', '.join(repr(c) for c in missing)} "
            f"(found: {printable(', '.join(present)) or 'none'})"
        )


def _csv_header(name: str, path: Path) -> list[str]:
    # surrogateescape: a bad byte further down (in the same read-ahead chunk) must not fail the
    # header; one in the header itself is refused below.
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        try:
            header = next(csv.reader(handle), [])
        except csv.Error as e:
            raise DataValidationError(f"{where(name, path)}: unreadable CSV header: {printable(e)}") from e
    if not header:
        raise DataValidationError(f"{where(name, path)}: no rows (no header line)")
    for cell in header:
        try:
            cell.encode("utf-8")
        except UnicodeEncodeError:
            raw = cell.encode("utf-8", "surrogateescape")
            raise DataValidationError(
                f"{where(name, path)}: unreadable CSV header: invalid UTF-8 in column name {raw!r}"
            ) from None
    return [h.strip() for h in header]


def _read_csv(name: str, path: Path) -> pa.Table:
    import pyarrow.csv as pacsv  # loaded for CSV sources only (~15 ms a process)

    schema = SCHEMAS[name]
    header = _csv_header(name, path)
    _check_columns(name, path, header)
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
        # Native parsing refused a cell: convert the text ourselves, which accepts what Arrow's
        # parser does not (a blank cell is missing) and says which rows are wrong.
        return _read_csv_as_text(name, path, header, e)


def _read_csv_as_text(name: str, path: Path, header: list[str], error: Exception) -> pa.Table:
    """The slow path: every cell read as bytes, then converted (vectorised) column by column.

    Raises:
        DataValidationError: rows with the wrong number of cells, invalid UTF-8, or a value of a
            column that cannot be converted -- naming the rows.
    """
    import pyarrow.csv as pacsv

    schema = SCHEMAS[name]
    try:
        raw = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                column_types={f.name: pa.binary() for f in schema},
                include_columns=schema.names,
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        rows, ragged = _scan_rows(path, len(header))
        if ragged:
            raise _ragged_error(name, path, len(header), ragged) from e
        if not rows:  # a header without a line end, which Arrow cannot skip
            raise DataValidationError(f"{where(name, path)}: no rows (header only)") from e
        raise DataValidationError(f"{where(name, path)}: malformed CSV: {printable(e)}") from e
    try:
        columns = [conform_column(name, path, raw, f.name, f.type) for f in schema]
    except DataValidationError as e:
        raise e from error
    return pa.Table.from_arrays(columns, schema=schema)


#: A CSV row with the wrong number of cells: its data row number (1-based), cells and text.
_Ragged = tuple[int, int, str]


def _scan_rows(path: Path, expected: int) -> tuple[int, list[_Ragged]]:
    """The number of data rows, and every one whose number of cells differs from the header's.

    Error path only: Python's csv module, because Arrow's parser stops at the first such row and
    its handler of bad rows cannot report a row holding invalid UTF-8.
    """
    found: list[_Ragged] = []
    number = 0
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        try:
            next(reader, None)  # the header
            for cells in reader:
                if not cells:
                    continue  # a blank line is no row, for Arrow either
                number += 1
                if len(cells) != expected:
                    found.append((number, len(cells), ",".join(cells)))
        except csv.Error:
            pass  # report what was found before the unparseable part
    return number, found


def _ragged_error(name: str, path: Path, expected: int, ragged: list[_Ragged]) -> DataValidationError:
    examples = [
        f"row {number}: {cells} cell{'' if cells == 1 else 's'}: {text[:80]!r}"
        for number, cells, text in ragged[:MAX_EXAMPLES]
    ]
    more = f", ... ({len(ragged) - MAX_EXAMPLES} more)" if len(ragged) > MAX_EXAMPLES else ""
    noun = "row" if len(ragged) == 1 else "rows"
    return DataValidationError(
        f"{where(name, path)}: wrong number of cells (the header has {expected}) in {len(ragged)} {noun} "
        f"(data rows, 1-based; an unbalanced quote joins the rows after it): {'; '.join(examples)}{more}"
    )


def _unreadable_parquet(name: str, path: Path, error: Exception) -> DataValidationError:
    return DataValidationError(
        f"{where(name, path)}: unreadable parquet file (truncated or corrupt?): {printable(error)}"
    )


def _read_parquet(name: str, path: Path) -> pa.Table:
    schema = SCHEMAS[name]
    try:
        # ParquetFile rather than pq.read_table, which loads pyarrow.dataset (~25 ms a process).
        with pq.ParquetFile(path) as source:
            _check_columns(name, path, source.schema_arrow.names)
            raw = source.read(columns=schema.names)
    except DataValidationError:
        raise
    except (pa.ArrowException, OSError) as e:
        raise _unreadable_parquet(name, path, e) from e
    columns = [conform_column(name, path, raw, f.name, f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)
