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
    filtered = table.filter(keep)
    if filtered.num_rows == 0:
        return sort_by_msa_id(filtered)
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
