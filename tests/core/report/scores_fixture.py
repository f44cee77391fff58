"""Scores tables in the export contract, computed from source tables, for the report tests and benchmark.

The real export (rank ties, rank change against the latest earlier as_of published with the same
weights) is built by the export task; this builds the same columns the plain way, from the scoring
functions, so the renderer is tested on real scores rather than made-up numbers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.config import PILLARS
from aker_core.report.aggregate import competition_rank
from aker_core.report.metrics import join_metrics
from aker_core.scoring import PILLAR_TABLES, compose, join_pillars, latest_as_of, score_pillar

WEIGHTS = {"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2}
WEIGHTS_TEXT = "supply=0.3;jobs=0.3;urban=0.2;outdoor=0.2"


def _composite(tables: dict[str, pa.Table], as_of: dt.date) -> tuple[pa.Table, dict[str, pa.Table]]:
    current = {t: latest_as_of(tables[t], as_of) for t in PILLAR_TABLES.values()}
    pillars = join_pillars([score_pillar(p, current[t]) for p, t in PILLAR_TABLES.items()])
    return compose(pillars, WEIGHTS), current


def build_scores(
    tables: dict[str, pa.Table], as_of: dt.date, previous: dt.date | None = None, run_id: str = "run-test"
) -> tuple[pa.Table, pa.Table]:
    """(scores in the export contract, metrics) for ``as_of``; ``rank_change`` against ``previous``."""
    composed, current = _composite(tables, as_of)
    ids = composed.column("msa_id").combine_chunks()
    weighted = np.asarray(pc.fill_null(composed.column("weighted_0_5"), np.nan).to_numpy(zero_copy_only=False))
    rank = competition_rank(weighted)
    change = pa.nulls(len(ids), pa.int32())
    if previous is not None:
        before, _ = _composite(tables, previous)
        prev_w = np.asarray(pc.fill_null(before.column("weighted_0_5"), np.nan).to_numpy(zero_copy_only=False))
        prev_rank = competition_rank(prev_w)
        position = pc.index_in(ids, value_set=before.column("msa_id").combine_chunks())
        pos = np.asarray(pc.fill_null(position, -1).to_numpy(zero_copy_only=False))
        old = np.where(pos >= 0, prev_rank[np.maximum(pos, 0)], 0)
        known = (old > 0) & (rank > 0)
        change = pa.array(np.where(known, old - rank, 0).astype(np.int32), mask=~known)
    names = tables["markets"]
    name_pos = pc.index_in(ids, value_set=names.column("msa_id").combine_chunks())
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "as_of": pa.array([as_of] * len(ids), pa.date32()),
        "msa_id": ids,
        "name": names.column("name").combine_chunks().take(name_pos),
        "rank": pa.array(rank.astype(np.int32), mask=rank == 0),
        "rank_change": change,
    }
    for p in PILLARS:
        columns[f"{p}_0_5"] = composed.column(f"{p}_0_5")
    columns["weighted_0_5"] = composed.column("weighted_0_5")
    columns["weighted_0_100"] = composed.column("weighted_0_100")
    columns["missing_pillars"] = pc.fill_null(pc.replace_substring(composed.column("missing_pillars"), ",", ";"), "")
    for p, t in PILLAR_TABLES.items():
        pos = pc.index_in(ids, value_set=current[t].column("msa_id").combine_chunks())
        columns[f"{p}_vintage"] = current[t].column("data_vintage").combine_chunks().take(pos)
    columns["weights"] = pa.array([WEIGHTS_TEXT] * len(ids), pa.string())
    columns["run_id"] = pa.array([run_id] * len(ids), pa.string())
    scores = pa.table(columns)
    # The export orders by rank (unranked last); the page must not depend on the order anyway.
    order = np.lexsort((np.arange(len(ids)), np.where(rank > 0, rank, np.iinfo(np.int64).max)))
    return scores.take(pa.array(order)), join_metrics(current)
