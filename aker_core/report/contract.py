"""What the scorecard renders from: the export table's columns, checked once, and the page metadata.

The renderer reads the *stable export* table (one row per market of one ``as_of``, one weights
and one run), so the page shows exactly the numbers of ``scores.csv``/``scores.parquet``. This
module is the only place that knows those column names and types; the other report modules take
the :class:`Scores` view it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.config import PILLARS
from aker_core.exceptions import AkerError

__all__ = ["SCORE_COLUMNS", "ReportError", "ScorecardMeta", "Scores", "check_scores", "parse_weights"]


class ReportError(AkerError):
    """The scores or metrics handed to the report renderer do not have the documented shape."""


#: Column -> Arrow type predicate and a description for messages; the export table's contract.
SCORE_COLUMNS: dict[str, str] = {
    "as_of": "date",
    "msa_id": "string",
    "name": "string",
    "rank": "integer",
    "rank_change": "integer",
    **{f"{p}_0_5": "float" for p in PILLARS},
    "weighted_0_5": "float",
    "weighted_0_100": "float",
    "missing_pillars": "string",
    **{f"{p}_vintage": "date" for p in PILLARS},
    "weights": "string",
    "run_id": "string",
}

_TYPE_OK = {
    "date": lambda t: pa.types.is_date(t) or pa.types.is_timestamp(t) or pa.types.is_null(t),
    "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t),
    "integer": lambda t: pa.types.is_integer(t) or pa.types.is_null(t),
    "float": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_null(t),
}


@dataclass(frozen=True, slots=True)
class ScorecardMeta:
    """Provenance the scores table does not carry, shown in the page header.

    Attributes:
        git_sha: the code version that produced the run (``aker_core.gitinfo``), or ``None``.
        source_hashes: dataset name -> content hash of the source read (FetchSource lineage).
        previous_as_of: the earlier as_of that ``rank_change`` compares against, if any.
        title: the page title.
    """

    git_sha: str | None = None
    source_hashes: Mapping[str, str] = field(default_factory=dict)
    previous_as_of: dt.date | None = None
    title: str = "aker market scorecard"


@dataclass(frozen=True, slots=True)
class Scores:
    """The checked export table as numpy columns (NaN / -1 sentinel for nulls), in input order.

    Attributes:
        as_of: the single as_of of every row.
        run_id: the single run id of every row.
        weights: pillar -> weight as the ``weights`` column states them (normalised to sum to 1).
        table: the original table (for string columns).
        pillars: pillar -> 0-5 score, NaN where missing.
        composite: the 0-100 composite, NaN where missing.
        rank: 1 = best, 0 where the market has no rank.
        rank_change: positive = moved up; ``None`` where unknown (mask in ``has_change``).
        has_change: whether ``rank_change`` is known.
    """

    as_of: dt.date
    run_id: str
    weights: dict[str, float]
    table: pa.Table
    pillars: dict[str, np.ndarray]
    composite: np.ndarray
    rank: np.ndarray
    rank_change: np.ndarray
    has_change: np.ndarray

    @property
    def count(self) -> int:
        """Number of markets."""
        return self.table.num_rows

    def strings(self, column: str) -> list[str | None]:
        """A string column as a Python list (None for null)."""
        return list(self.table.column(column).to_pylist())

    def missing_labels(self) -> list[str]:
        """``missing_pillars`` per market as ``"jobs, urban"`` ('' when complete); ``;`` or ``,`` separated."""
        out = []
        for value in self.table.column("missing_pillars").to_pylist():
            parts = [p.strip() for p in (value or "").replace(",", ";").split(";") if p.strip()]
            out.append(", ".join(parts))
        return out


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    values = pc.cast(column, pa.float64()) if not pa.types.is_null(column.type) else pa.nulls(len(column), pa.float64())
    return np.asarray(pc.fill_null(values, float("nan")).to_numpy(zero_copy_only=False), dtype=np.float64)


def _ints(column: pa.ChunkedArray, fill: int) -> np.ndarray:
    values = pc.cast(column, pa.int64()) if not pa.types.is_null(column.type) else pa.nulls(len(column), pa.int64())
    return np.asarray(pc.fill_null(values, fill).to_numpy(zero_copy_only=False), dtype=np.int64)


def _single(table: pa.Table, column: str) -> object:
    distinct = pc.unique(table.column(column).combine_chunks()).to_pylist()
    if len(distinct) != 1 or distinct[0] is None:
        shown = ", ".join(str(v) for v in distinct[:5])
        raise ReportError(f"scores column {column!r} must hold one value for every row, found: {shown}")
    return distinct[0]


def parse_weights(text: str) -> dict[str, float]:
    """``"supply=0.3;jobs=0.3;urban=0.2;outdoor=0.2"`` -> weights normalised to sum to 1.

    Raises:
        ReportError: a malformed entry, an unknown or missing pillar, or no positive weight.
    """
    weights: dict[str, float] = {}
    for part in text.replace(",", ";").split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        try:
            weights[key.strip()] = float(value) if sep else float("nan")
        except ValueError:
            weights[key.strip()] = float("nan")
    if set(weights) != set(PILLARS) or any(not np.isfinite(w) or w < 0 for w in weights.values()):
        raise ReportError(
            f"scores column 'weights' must read like 'supply=0.3;jobs=0.3;urban=0.2;outdoor=0.2': {text!r}"
        )
    total = sum(weights.values())
    if total <= 0:
        raise ReportError(f"scores column 'weights' has no positive weight: {text!r}")
    return {p: weights[p] / total for p in PILLARS}


def check_scores(table: pa.Table) -> Scores:
    """Check ``table`` against :data:`SCORE_COLUMNS` and return its numeric view.

    Raises:
        ReportError: no rows, a missing or mistyped column, null or duplicate ``msa_id``, or
            more than one ``as_of``/``run_id``/``weights``.
    """
    missing = [c for c in SCORE_COLUMNS if c not in table.column_names]
    if missing:
        raise ReportError(f"scores table lacks column(s) {', '.join(missing)}")
    for column, kind in SCORE_COLUMNS.items():
        if not _TYPE_OK[kind](table.schema.field(column).type):
            raise ReportError(f"scores column {column!r} must be {kind}, got {table.schema.field(column).type}")
    if table.num_rows == 0:
        raise ReportError("scores table has no rows: nothing to report")
    ids = table.column("msa_id")
    if ids.null_count:
        raise ReportError(f"scores column 'msa_id' has {ids.null_count} null value(s)")
    if len(pc.unique(ids.combine_chunks())) != table.num_rows:
        raise ReportError("scores column 'msa_id' has duplicate values (one row per market expected)")
    as_of = _single(table, "as_of")
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    assert isinstance(as_of, dt.date)
    rank_change = table.column("rank_change")
    return Scores(
        as_of=as_of,
        run_id=str(_single(table, "run_id")),
        weights=parse_weights(str(_single(table, "weights"))),
        table=table,
        pillars={p: _floats(table.column(f"{p}_0_5")) for p in PILLARS},
        composite=_floats(table.column("weighted_0_100")),
        rank=_ints(table.column("rank"), 0),
        rank_change=_ints(rank_change, 0),
        has_change=~np.asarray(pc.is_null(rank_change).to_numpy(zero_copy_only=False), dtype=bool),
    )
