"""The export table: one row per market with its rank, rank change, scores, vintages and provenance.

Pure Arrow arithmetic (no I/O): :func:`export_table` turns a composite (the ``ComposeScores``
parquet) plus the previous publication's ranks into the table every export format writes, and
the HTML scorecard shows. The column contract is :data:`EXPORT_SCHEMA`; its meaning, units and
sources are :mod:`aker_tasks.exports.dictionary`.

Ranking is *competition* ranking on ``weighted_0_5`` (best first): equal composites share a rank
and the next rank skips (1, 2, 2, 4), as SQL's ``RANK()`` does -- the previous publication's ranks
are computed by the database with ``RANK()``, so both sides rank the same way. Markets without
a composite have no rank and come last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.config import PILLARS
from aker_core.exceptions import ScoringError

__all__ = [
    "CSV_DECIMALS",
    "EXPORT_SCHEMA",
    "competition_rank",
    "export_table",
    "round_for_csv",
    "weights_text",
]

#: Score columns, in export order.
SCORE_COLUMNS: tuple[str, ...] = (*(f"{p}_0_5" for p in PILLARS), "weighted_0_5", "weighted_0_100")
#: Per-pillar vintage columns, in export order.
VINTAGE_COLUMNS: tuple[str, ...] = tuple(f"{p}_vintage" for p in PILLARS)

#: The export's columns and types: the same in CSV, parquet and JSON lines.
EXPORT_SCHEMA = pa.schema(
    [
        pa.field("as_of", pa.date32(), nullable=False),
        pa.field("msa_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("rank", pa.int32()),
        pa.field("rank_change", pa.int32()),
        *(pa.field(c, pa.float64()) for c in SCORE_COLUMNS),
        pa.field("missing_pillars", pa.string(), nullable=False),
        *(pa.field(c, pa.date32()) for c in VINTAGE_COLUMNS),
        pa.field("weights", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
    ]
)

#: Decimals the CSV keeps per score column (parquet and JSON lines keep full precision):
#: 0.001 on the 0-5 scale and 0.1 on the 0-100 scale are both 1/50 of a point of 0-5 or finer
#: than any difference the inputs can justify, and keep the file readable.
CSV_DECIMALS: dict[str, int] = {**{c: 3 for c in SCORE_COLUMNS if c.endswith("_0_5")}, "weighted_0_100": 1}

#: Separator of ``missing_pillars`` and ``weights`` items (``,`` would be ambiguous in CSV).
SEPARATOR = ";"


def weights_text(weights: Mapping[str, float]) -> str:
    """``supply=0.3;jobs=0.3;urban=0.2;outdoor=0.2``: normalised weights, shortest exact decimals."""
    return SEPARATOR.join(f"{p}={float(weights[p])!r}" for p in PILLARS)


def competition_rank(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """1 for the highest value, ties share the lowest rank (1, 2, 2, 4); null stays null.

    Args:
        values: float64 scores, nulls allowed.

    Returns:
        int32 ranks, aligned with ``values``.
    """
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    valid = np.asarray(pc.is_valid(array).to_numpy(zero_copy_only=False), dtype=bool)
    scores = np.asarray(pc.fill_null(pc.cast(array, pa.float64()), 0.0).to_numpy(zero_copy_only=False))
    present = -scores[valid]
    ordered = np.sort(present)
    # A market's rank is 1 + how many markets score strictly higher.
    ranks = np.zeros(len(scores), dtype=np.int32)
    ranks[valid] = np.searchsorted(ordered, present, side="left") + 1
    return pa.array(ranks, type=pa.int32(), mask=~valid)


def _require(composite: pa.Table) -> None:
    needed = ["msa_id", "name", *SCORE_COLUMNS, "missing_pillars", *VINTAGE_COLUMNS]
    absent = [c for c in needed if c not in composite.column_names]
    if absent:
        raise ScoringError(f"export: the composite lacks column(s) {', '.join(absent)}; rebuild ComposeScores")


def export_table(
    composite: pa.Table,
    *,
    as_of: dt.date,
    weights: Mapping[str, float],
    run_id: str,
    previous_ranks: pa.Table | None = None,
) -> pa.Table:
    """The export of a composite: :data:`EXPORT_SCHEMA`, sorted by rank then ``msa_id``.

    Args:
        composite: ``ComposeScores`` output (``msa_id``, ``name``, the pillar and composite
            scores, ``missing_pillars``, ``{pillar}_vintage``).
        as_of: the scores' as-of date.
        weights: the normalised weights the composite was computed with.
        run_id: the run that published these scores (``pillar_scores.run_id``).
        previous_ranks: ``msa_id`` and ``rank`` of the latest earlier as_of published with the
            same weights (:func:`aker_tasks.exports.previous.previous_ranks`); ``None`` when
            there is none, which makes every ``rank_change`` null.

    Returns:
        One row per market of ``composite``.

    Raises:
        ScoringError: the composite lacks a column.
    """
    _require(composite)
    n = composite.num_rows
    ids = pc.cast(composite["msa_id"], pa.string()).combine_chunks()
    rank = competition_rank(composite["weighted_0_5"])
    if previous_ranks is not None and previous_ranks.num_rows:
        before = pc.take(
            pc.cast(previous_ranks["rank"], pa.int32()),
            pc.index_in(ids, value_set=pc.cast(previous_ranks["msa_id"], pa.string())),
        )
        change = pc.subtract(before, rank)  # null when either side is
    else:
        change = pa.nulls(n, pa.int32())
    missing = pc.fill_null(pc.replace_substring(pc.cast(composite["missing_pillars"], pa.string()), ",", SEPARATOR), "")
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "as_of": pa.repeat(pa.scalar(as_of, pa.date32()), n),
        "msa_id": ids,
        "name": pc.cast(composite["name"], pa.string()),
        "rank": rank,
        "rank_change": change,
        **{c: pc.cast(composite[c], pa.float64()) for c in SCORE_COLUMNS},
        "missing_pillars": missing,
        **{c: pc.cast(composite[c], pa.date32()) for c in VINTAGE_COLUMNS},
        "weights": pa.repeat(pa.scalar(weights_text(weights), pa.string()), n),
        "run_id": pa.repeat(pa.scalar(run_id, pa.string()), n),
    }
    table = pa.table(columns, schema=EXPORT_SCHEMA)
    # Unranked markets last: a key past every rank instead of a null placement (whose API moved).
    key = pa.table({"rank": pc.fill_null(rank, np.iinfo(np.int32).max), "msa_id": ids})
    order = pc.sort_indices(key, sort_keys=[("rank", "ascending"), ("msa_id", "ascending")])
    return table.take(order).combine_chunks()


def round_for_csv(table: pa.Table) -> pa.Table:
    """``table`` with each score column rounded to :data:`CSV_DECIMALS` (half to even, as Python's ``round``)."""
    for column, decimals in CSV_DECIMALS.items():
        i = table.column_names.index(column)
        table = table.set_column(i, column, pc.round(table[column], ndigits=decimals, round_mode="half_to_even"))
    return table
