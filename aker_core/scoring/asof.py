"""Point-in-time: parse an ``as_of`` date and keep, per market, the latest vintage on or before it.

Scoring "as of D" must only see data published by D; a later vintage would leak the future into
a historical score (look-ahead), so :func:`latest_as_of` drops every row with
``data_vintage > D`` before picking the latest remaining vintage of each market.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.dates import AsOf, parse_as_of
from aker_core.exceptions import ScoringError

__all__ = ["AsOf", "key_order", "latest_as_of", "latest_rows", "parse_as_of", "sort_by_key"]


def latest_as_of(table: pa.Table, as_of: object) -> pa.Table:
    """Keep, per ``msa_id``, the row with the latest ``data_vintage`` on or before ``as_of``.

    Markets whose every vintage is after ``as_of`` disappear (they had no data yet); so do rows
    with a null ``msa_id`` or ``data_vintage``. Of two rows with the same market and vintage the
    first in input order is kept.

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
    if table.column("msa_id").null_count:
        # A row without an id belongs to no market, so it is never kept (whatever the other rows).
        table = table.filter(pc.is_valid(table.column("msa_id")))
        vintage = table.column("data_vintage")
    return table.take(pa.array(latest_rows(table.column("msa_id"), vintage, day))).combine_chunks()


def latest_rows(ids: pa.Array | pa.ChunkedArray, vintages: pa.Array | pa.ChunkedArray, as_of: object) -> np.ndarray:
    """Row numbers :func:`latest_as_of` keeps, in its output order (by ``msa_id``).

    Lets a reader select rows from the key columns alone and then take them from each other
    column, without ever holding the whole source table (see
    :func:`aker_core.sources.read_dataset_as_of`).

    Args:
        ids: ``msa_id`` per row, no nulls.
        vintages: ``data_vintage`` (date32) per row.
        as_of: anything :func:`parse_as_of` accepts.

    Returns:
        int64 row numbers into ``ids``.

    Raises:
        ScoringError: bad ``as_of`` or a null ``msa_id``.
    """
    day = parse_as_of(as_of)
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    days = vintages.combine_chunks() if isinstance(vintages, pa.ChunkedArray) else vintages
    if ids.null_count:
        raise ScoringError("point-in-time filter: msa_id has null values")
    keep = pc.fill_null(pc.less_equal(days, pa.scalar(day, pa.date32())), False)
    kept = np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
    if len(ids) > 1:
        changes = _changes(ids)
        if _sorted_unique_keys(ids, days, changes):
            # Already in (msa_id, data_vintage) order, as the database readers and the generator
            # return it: no sort. A market's kept rows are a prefix of its run, so its latest kept
            # row is a kept row followed by another market or by a row after as_of.
            # A null vintage is never kept.
            latest = kept.copy()
            latest[:-1] &= changes | ~kept[1:]
            return np.flatnonzero(latest)
    candidates = np.flatnonzero(kept)
    if len(candidates) == 0:
        return candidates
    kept_rows = pa.table({"id": ids.take(pa.array(candidates)), "day": days.take(pa.array(candidates))})
    # Arrow's sort is stable, so rows tied on both keys keep input order: the result never
    # depends on the sort. (Measured at 10^6 markets x 2 vintages: 0.15 s vintage-major and
    # 0.67 s shuffled, faster than the packed int64 key sorted with numpy used before, 0.35 / 0.83 s.)
    order = pc.sort_indices(kept_rows, sort_keys=[("id", "ascending"), ("day", "descending")])
    sorted_ids = kept_rows.column("id").take(order).combine_chunks()
    first = np.ones(len(order), dtype=bool)
    first[1:] = _changes(sorted_ids)
    order = order.to_numpy()
    return candidates[order[first]]


def key_order(ids: pa.Array | pa.ChunkedArray, vintages: pa.Array | pa.ChunkedArray | None) -> pa.Array | None:
    """Row numbers that put rows in (``msa_id``, ``data_vintage``) order, or ``None`` when they are.

    ``vintages`` is ``None`` for a dataset without vintages (``markets``): then by ``msa_id`` alone.
    Rows already in order (as the database readers and the generator return them) are recognised
    in one linear pass, without a sort; Arrow's sort is stable, so equal keys keep input order.
    """
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    if len(ids) < 2:
        return None
    if vintages is None:
        if pc.all(pc.less_equal(ids[:-1], ids[1:])).as_py():
            return None
        return pc.sort_indices(ids)
    days = vintages.combine_chunks() if isinstance(vintages, pa.ChunkedArray) else vintages
    if not days.null_count and _sorted_unique_keys(ids, days, _changes(ids)):
        return None
    keys = pa.table({"msa_id": ids, "data_vintage": days})
    return pc.sort_indices(keys, sort_keys=[("msa_id", "ascending"), ("data_vintage", "ascending")])


def sort_by_key(table: pa.Table) -> pa.Table:
    """``table`` in (``msa_id``, ``data_vintage``) order -- by ``msa_id`` alone without vintages.

    A table already in that order is returned as is (see :func:`key_order`); the order is what
    :func:`latest_rows`'s fast path needs, so every point-in-time cut of a table stored this way
    is a linear scan.
    """
    vintages = table.column("data_vintage") if "data_vintage" in table.column_names else None
    order = key_order(table.column("msa_id"), vintages)
    return table if order is None else table.take(order)


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
