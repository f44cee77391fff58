"""The composite: weighted sum of the four pillar scores.

Weights come from settings (``AKER_WEIGHTS__*``) or an explicit override; either way they are
validated by the one weights rule (:func:`aker_core.config.weights.normalise_weights`) and
normalised to sum to 1, so only their ratios matter. A market gets a composite only when all
four pillars are present; otherwise ``missing_pillars`` names the absent ones and the composite
is null -- substituting 0 would silently punish markets for gaps in the data rather than for
what the data says.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.config.weights import PILLARS, WeightsLike, normalise_weights
from aker_core.exceptions import ScoringError
from aker_core.scoring.arrowutil import as_float64, is_sorted_unique, msa_ids, sort_by_msa_id

__all__ = ["PILLAR_COLUMNS", "compose", "join_pillars"]

#: The pillar score columns, in canonical order.
PILLAR_COLUMNS: tuple[str, ...] = tuple(f"{p}_0_5" for p in PILLARS)

# missing_pillars label for each bitmask (bit i set = PILLARS[i] missing); index 0 = complete.
_MISSING_LABELS: list[str | None] = [
    ",".join(p for i, p in enumerate(PILLARS) if mask >> i & 1) or None for mask in range(1 << len(PILLARS))
]


def join_pillars(tables: Sequence[pa.Table]) -> pa.Table:
    """Outer-join pillar tables (``msa_id`` + ``{pillar}_0_5``) on ``msa_id``.

    Args:
        tables: outputs of :func:`~aker_core.scoring.score_pillar`, any subset of pillars.

    Returns:
        ``msa_id`` and the four pillar columns (absent pillars all null), sorted by ``msa_id``.

    Raises:
        ScoringError: a table without ``msa_id`` or with a column that is not a pillar score,
            or two tables for the same pillar.
    """
    by_column: dict[str, pa.Table] = {}
    for table in tables:
        for column in table.column_names:
            if column == "msa_id":
                continue
            if column not in PILLAR_COLUMNS:
                raise ScoringError(f"join_pillars: unexpected column {column!r} (expected {PILLAR_COLUMNS})")
            if column in by_column:
                raise ScoringError(f"join_pillars: column {column!r} given twice")
            by_column[column] = table.select(["msa_id", column])
    parts = list(by_column.values())
    if parts and all(p.column("msa_id").equals(parts[0].column("msa_id")) for p in parts[1:]):
        # Common case: every pillar covers the same markets in the same order; sort once, no join.
        # Measured (#15, 10^6 markets): 0.014 s, against 0.73 s for the general path below.
        ids = msa_ids(parts[0])
        order = None if is_sorted_unique(ids) else pc.sort_indices(ids)
        if order is not None:
            ids = ids.take(order)
        out: dict[str, pa.Array] = {"msa_id": ids}
        for column in PILLAR_COLUMNS:
            part = by_column.get(column)
            if part is None:
                out[column] = pa.nulls(len(ids), pa.float64())
                continue
            values = pc.cast(part.column(column), pa.float64()).combine_chunks()
            out[column] = values if order is None else values.take(order)
        return _checked(pa.table(out))
    by_column = {c: _checked(sort_by_msa_id(t)) for c, t in by_column.items()}
    ids = _union_ids([t.column("msa_id").combine_chunks() for t in by_column.values()])
    out = {"msa_id": ids}
    for column in PILLAR_COLUMNS:
        part = by_column.get(column)
        if part is None:
            out[column] = pa.nulls(len(ids), pa.float64())
        else:
            position = pc.index_in(ids, value_set=part.column("msa_id").combine_chunks())
            out[column] = pc.cast(part.column(column).combine_chunks(), pa.float64()).take(position)
    return _checked(pa.table(out))


def _checked(table: pa.Table) -> pa.Table:
    if not is_sorted_unique(table.column("msa_id").combine_chunks()):
        raise ScoringError("join_pillars: msa_id must be unique within each pillar table")
    return table


def _union_ids(parts: list[pa.Array]) -> pa.Array:
    if not parts:
        return pa.array([], pa.string())
    merged = pc.unique(pa.chunked_array(parts, pa.string()).combine_chunks())
    return merged.take(pc.sort_indices(merged))


def compose(pillars: pa.Table, weights: WeightsLike | None = None) -> pa.Table:
    """Add the weighted composite to a table of pillar scores.

    ``weighted_0_5 = sum(weight[p] * p_0_5)`` with normalised weights, summed in canonical
    pillar order; ``weighted_0_100 = 20 * weighted_0_5``. Both are null unless all four pillars
    are present, in which case ``missing_pillars`` (e.g. ``"jobs,urban"``) says which are not.

    Args:
        pillars: ``msa_id`` + ``supply_0_5``, ``jobs_0_5``, ``urban_0_5``, ``outdoor_0_5``
            (see :func:`join_pillars`); one row per market.
        weights: see :func:`~aker_core.config.weights.normalise_weights`.

    Returns:
        ``msa_id``, the four pillar columns, ``weighted_0_5``, ``weighted_0_100`` (float64) and
        ``missing_pillars`` (string), sorted by ``msa_id``.

    Raises:
        ScoringError: invalid weights, a missing pillar column or duplicate ``msa_id``.
    """
    w = normalise_weights(weights)
    absent = [c for c in PILLAR_COLUMNS if c not in pillars.column_names]
    if absent:
        raise ScoringError(f"compose: missing pillar column(s) {', '.join(absent)} (use join_pillars)")
    table = sort_by_msa_id(pillars.select(["msa_id", *PILLAR_COLUMNS]))
    if not is_sorted_unique(table.column("msa_id").combine_chunks()):
        raise ScoringError("compose: msa_id must be unique")
    n = table.num_rows
    weighted = np.zeros(n, dtype=np.float64)
    missing_mask = np.zeros(n, dtype=np.int64)
    columns: dict[str, pa.Array] = {"msa_id": table.column("msa_id").combine_chunks()}
    for i, (pillar, column) in enumerate(zip(PILLARS, PILLAR_COLUMNS, strict=True)):
        values = as_float64(table.column(column))
        absent_here = np.isnan(values)
        missing_mask |= absent_here.astype(np.int64) << i
        weighted += w[pillar] * np.where(absent_here, 0.0, values)
        columns[column] = pa.array(values, type=pa.float64(), mask=absent_here)
    incomplete = missing_mask != 0
    columns["weighted_0_5"] = pa.array(weighted, type=pa.float64(), mask=incomplete)
    columns["weighted_0_100"] = pa.array(20.0 * weighted, type=pa.float64(), mask=incomplete)
    columns["missing_pillars"] = pa.array(_MISSING_LABELS, pa.string()).take(pa.array(missing_mask))
    return pa.table(columns)
