"""Persisting composite score tables into ``pillar_scores`` (upsert keyed by msa_id and as-of date)."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from aker_core.exceptions import ScoringError
from aker_core.markets.bulk import upsert_columns
from aker_core.scoring import PILLAR_COLUMNS, WeightsLike, normalise_weights, parse_as_of
from aker_data.models import PillarScore

__all__ = ["SCORE_COLUMNS", "upsert_pillar_scores"]

#: Columns :func:`upsert_pillar_scores` needs in its input table.
SCORE_COLUMNS: tuple[str, ...] = ("msa_id", *PILLAR_COLUMNS, "weighted_0_5", "weighted_0_100", "missing_pillars")


def _floats(column: pa.ChunkedArray) -> list[float | None]:
    column = pc.cast(column, pa.float64())
    # Databases disagree on NaN (PostgreSQL stores it, SQLite makes it NULL): store missing as NULL.
    return list(pc.if_else(pc.is_nan(column), pa.scalar(None, pa.float64()), column).to_pylist())


def upsert_pillar_scores(
    bind: Connection | Session,
    table: pa.Table,
    *,
    as_of: object,
    run_id: str | None,
    weights: WeightsLike | Mapping[str, float] | None,
) -> int:
    """Upsert a composite table (:func:`aker_core.scoring.compose` output) into ``pillar_scores``.

    Rows are keyed by (``msa_id``, ``score_as_of``): rerunning an as-of date updates in place.
    Does not commit; the caller (e.g. :class:`~aker_core.run.RunContext`) owns the transaction.

    Args:
        bind: connection or session on the run database.
        table: ``msa_id``, the four ``{pillar}_0_5`` columns, ``weighted_0_5``, ``weighted_0_100``
            and ``missing_pillars``.
        as_of: the as-of date scored (see :func:`~aker_core.scoring.parse_as_of`).
        run_id: the run producing the scores (``runs.run_id``), or ``None``.
        weights: the weights used; stored normalised as JSON (``None`` = settings).

    Returns:
        Number of rows written.

    Raises:
        ScoringError: missing columns, bad ``as_of`` or weights.
    """
    missing = [c for c in SCORE_COLUMNS if c not in table.column_names]
    if missing:
        raise ScoringError(f"upsert_pillar_scores: table lacks column(s) {', '.join(missing)}")
    day = parse_as_of(as_of)
    used = normalise_weights(weights)
    n = table.num_rows
    columns: dict[str, list[object]] = {
        "msa_id": pc.cast(table.column("msa_id"), pa.string()).to_pylist(),
        "score_as_of": [day] * n,
    }
    for name in (*PILLAR_COLUMNS, "weighted_0_5", "weighted_0_100"):
        columns[name] = list(_floats(table.column(name)))
    columns["missing_pillars"] = pc.cast(table.column("missing_pillars"), pa.string()).to_pylist()
    columns["weights"] = [used] * n
    columns["run_id"] = [run_id] * n
    return upsert_columns(bind, PillarScore.__table__, columns, ("msa_id", "score_as_of"))  # type: ignore[arg-type]
