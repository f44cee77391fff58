"""Point-in-time: parse an ``as_of`` date and keep, per market, the latest vintage on or before it.

Scoring "as of D" must only see data published by D; a later vintage would leak the future into
a historical score (look-ahead), so :func:`latest_as_of` drops every row with
``data_vintage > D`` before picking the latest remaining vintage of each market.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.exceptions import ScoringError
from aker_core.scoring.arrowutil import sort_by_msa_id

__all__ = ["AsOf", "latest_as_of", "parse_as_of"]

#: Everything :func:`parse_as_of` accepts.
AsOf = dt.date | dt.datetime | str

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def parse_as_of(value: object) -> dt.date:
    """Parse an as-of date.

    Args:
        value: a ``date``, a ``datetime`` (its calendar date is used), ``'YYYY-MM-DD'`` or
            ``'YYYY-MM'`` (the first of that month).

    Returns:
        The date.

    Raises:
        ScoringError: anything else, naming the value.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DAY.match(text):
                return dt.date.fromisoformat(text)
            if _MONTH.match(text):
                return dt.date.fromisoformat(f"{text}-01")
        except ValueError as e:
            raise ScoringError(f"as_of {value!r} is not a valid date: {e}") from e
    raise ScoringError(f"as_of {value!r} is not a date: use a date, a datetime, 'YYYY-MM-DD' or 'YYYY-MM'")


def latest_as_of(table: pa.Table, as_of: object) -> pa.Table:
    """Keep, per ``msa_id``, the row with the latest ``data_vintage`` on or before ``as_of``.

    Markets whose every vintage is after ``as_of`` disappear (they had no data yet).

    Args:
        table: a source table with ``msa_id`` and ``data_vintage`` (date32) columns, any others.
        as_of: anything :func:`parse_as_of` accepts.

    Returns:
        One row per ``msa_id``, sorted by ``msa_id``, with all of ``table``'s columns.

    Raises:
        ScoringError: bad ``as_of`` or a table without ``msa_id``/``data_vintage``.
    """
    day = parse_as_of(as_of)
    for column in ("msa_id", "data_vintage"):
        if column not in table.column_names:
            raise ScoringError(f"point-in-time filter needs a {column!r} column; table has {table.column_names}")
    vintage = table.column("data_vintage")
    if not pa.types.is_date32(vintage.type):
        vintage = pc.cast(vintage, pa.date32())
        table = table.set_column(table.column_names.index("data_vintage"), "data_vintage", vintage)
    keep = pc.less_equal(vintage, pa.scalar(day, pa.date32()))
    if table.num_rows > 1 and not table.column("msa_id").null_count:
        ids = table.column("msa_id").combine_chunks()
        changes = _changes(ids)
        if _sorted_unique_keys(ids, vintage.combine_chunks(), changes):
            # Already in (msa_id, data_vintage) order, as the database readers and the generator
            # return it: no sort. A market's kept rows are a prefix of its run, so its latest kept
            # row is a kept row followed by another market or by a row after as_of.
            # A null vintage is never kept (as Table.filter drops null selections).
            kept = pc.fill_null(keep, False).combine_chunks().to_numpy(zero_copy_only=False)
            latest = kept.copy()
            latest[:-1] &= changes | ~kept[1:]
            return table.filter(pa.array(latest)).combine_chunks()
    filtered = table.filter(keep)
    if filtered.num_rows == 0:
        return sort_by_msa_id(filtered)
    ids = filtered.column("msa_id").combine_chunks()
    days = filtered.column("data_vintage").combine_chunks()
    if ids.null_count:
        return _latest_generic(filtered)
    # Sort one int64 key instead of (string, date) pairs: the market's rank among the distinct
    # ids in the high bits, the vintage reversed in the low bits (latest first within a market).
    distinct = pc.unique(ids)
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[pc.sort_indices(distinct).to_numpy()] = np.arange(len(distinct), dtype=np.int64)
    codes = rank[pc.index_in(ids, value_set=distinct).to_numpy()]
    day_numbers = days.cast(pa.int32()).to_numpy().astype(np.int64)
    key = (codes << 32) | (day_numbers.max() - day_numbers)
    # Stable, so rows tied on both keys keep input order: the result never depends on the sort.
    order = np.argsort(key, kind="stable")
    sorted_codes = codes[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_codes[1:] != sorted_codes[:-1]
    return filtered.take(pa.array(order[first])).combine_chunks()


def _changes(ids: pa.Array) -> np.ndarray:
    """``ids[i] != ids[i + 1]`` for each adjacent pair, as a numpy bool array."""
    return np.asarray(pc.not_equal(ids[:-1], ids[1:]).to_numpy(zero_copy_only=False), dtype=bool)


def _sorted_unique_keys(ids: pa.Array, days: pa.Array, changes: np.ndarray) -> bool:
    """Whether rows are strictly increasing by (``ids``, ``days``): sorted, no duplicate key.

    ``changes`` is :func:`_changes` of ``ids``; ``days`` must hold no nulls where ids repeat.
    """
    if not pc.all(pc.less_equal(ids[:-1], ids[1:])).as_py():
        return False
    # Within a market the vintage must strictly increase (a null vintage compares unknown: not ok).
    later = pc.fill_null(pc.less(days[:-1], days[1:]), False).to_numpy(zero_copy_only=False)
    return bool(np.all(changes | later))


def _latest_generic(filtered: pa.Table) -> pa.Table:
    """Reference implementation (two-key sort); kept for tables whose ``msa_id`` has nulls."""
    order = pc.sort_indices(
        pa.table({"m": filtered.column("msa_id"), "v": filtered.column("data_vintage")}),
        sort_keys=[("m", "ascending"), ("v", "descending")],
    )
    ordered = filtered.take(order)
    ids = ordered.column("msa_id").combine_chunks()
    # First row of each msa_id run = its latest vintage (rows are sorted by vintage descending).
    first = np.ones(len(ids), dtype=bool)
    if len(ids) > 1:
        first[1:] = pc.not_equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)
    return ordered.filter(pa.array(first)).combine_chunks()
