"""The page's embedded data: columnar arrays, gzip-compressed and base64-encoded into the HTML.

One array per column (not one object or HTML row per market) and dictionary codes for repeated
strings (vintages, missing pillars) keep 100k markets to a few MB; gzip (``mtime=0``, so the
same input gives the same bytes) shrinks that ~3x, and the browser inflates it with its built-in
``DecompressionStream`` -- no script library and no network.
"""

from __future__ import annotations

import base64
import gzip
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.config import PILLARS
from aker_core.report.contract import Scores

__all__ = ["DETAIL_CHUNK", "detail_chunks", "encode", "table_payload"]

#: Markets per detail chunk: a click inflates only its market's chunk (~50 ms at any size)
#: instead of every market's metrics (seconds of main-thread JSON parsing at 100k).
DETAIL_CHUNK = 2000

#: Decimals kept on the page: the composite (0-100) and the pillar scores (0-5).
COMPOSITE_DECIMALS = 2
PILLAR_DECIMALS = 3


def _codes(column: pa.ChunkedArray) -> dict[str, Any]:
    """A column as ``{"codes": [int, -1 = null], "labels": [str]}``, labels sorted."""
    text = pc.cast(column, pa.string()) if not pa.types.is_null(column.type) else pa.nulls(len(column), pa.string())
    labels = sorted(v for v in pc.unique(text.combine_chunks()).to_pylist() if v is not None)
    codes = pc.index_in(text, value_set=pa.array(labels, pa.string()))
    return {
        "codes": np.asarray(pc.fill_null(codes, -1).to_numpy(zero_copy_only=False), dtype=np.int32),
        "labels": labels,
    }


def _rounded(values: np.ndarray, decimals: int) -> np.ndarray:
    return np.round(values, decimals)


def table_payload(scores: Scores) -> dict[str, Any]:
    """The table's columns, in the scores' row order.

    Returns:
        ``ids``, ``names`` ('' for null), ``rank`` (0 = none), ``change`` (null = unknown),
        ``composite`` (0-100, null = none), ``pillars`` {pillar: 0-5}, ``missing`` and
        ``vintages`` {pillar: codes/labels}.
    """
    table = scores.table
    change = np.where(scores.has_change, scores.rank_change, 0)
    missing_labels = scores.missing_labels()
    return {
        "ids": scores.strings("msa_id"),
        "names": [n or "" for n in scores.strings("name")],
        "rank": scores.rank.astype(np.int32),
        # null stays null: 0 means "same rank", which is not "unknown".
        "change": [
            int(c) if known else None for c, known in zip(change.tolist(), scores.has_change.tolist(), strict=True)
        ],
        "composite": _rounded(scores.composite, COMPOSITE_DECIMALS),
        "pillars": {p: _rounded(scores.pillars[p], PILLAR_DECIMALS) for p in PILLARS},
        "missing": _codes(pa.chunked_array([pa.array(missing_labels, pa.string())])),
        "vintages": {p: _codes(table.column(f"{p}_vintage")) for p in PILLARS},
    }


def encode(data: Any) -> str:
    """``data`` as JSON (numpy arrays as lists, NaN as null), gzipped deterministically, in base64."""
    raw = orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
    return base64.b64encode(gzip.compress(raw, compresslevel=1, mtime=0)).decode("ascii")


def detail_chunks(columns: dict[str, dict[str, np.ndarray]], rows: int, size: int = DETAIL_CHUNK) -> list[str]:
    """Per-market columns (e.g. ``{"values": {metric: array}, "fractions": {...}}``) cut into
    :func:`encode`-d chunks of ``size`` rows in row order; chunk ``k`` holds rows ``k*size ..``."""
    chunks = []
    for start in range(0, max(rows, 1), size):
        part = {
            kind: {name: array[start : start + size] for name, array in arrays.items()}
            for kind, arrays in columns.items()
        }
        chunks.append(encode(part))
    return chunks
