"""Synthetic source datasets of any size: vectorised numpy draws, deterministic for a seed.

Values are drawn per metric around its scoring range (a little beyond both ends, so clamping is
exercised), with about 2% missing cells; vintages are consecutive quarter ends ending 2024-03-31.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aker_core.scoring.rules import RULES_BY_PILLAR
from aker_core.sources.location import DATASETS, MARKETS, SOURCE_TABLES
from aker_core.sources.schema import SCHEMAS

__all__ = ["generate", "quarter_ends", "write_datasets"]

#: Share of metric cells left missing.
MISSING_RATE = 0.02
#: The latest generated vintage.
LAST_VINTAGE = dt.date(2024, 3, 31)


def quarter_ends(count: int, last: dt.date = LAST_VINTAGE) -> list[dt.date]:
    """``count`` consecutive quarter-end dates ending at ``last`` (a quarter end), oldest first."""
    out = []
    year, quarter = last.year, (last.month - 1) // 3 + 1
    for _ in range(count):
        month = quarter * 3
        next_first = dt.date(year + (month == 12), month % 12 + 1, 1)
        out.append(next_first - dt.timedelta(days=1))
        quarter -= 1
        if quarter == 0:
            year, quarter = year - 1, 4
    return out[::-1]


def generate(markets: int, vintages: int = 2, seed: int = 0) -> dict[str, pa.Table]:
    """Generate the five datasets for ``markets`` synthetic markets with ``vintages`` vintages each.

    Returns:
        Dataset name -> table in the canonical schema; source tables sorted by (msa_id, vintage).
    """
    if markets < 1 or vintages < 1:
        raise ValueError("markets and vintages must be at least 1")
    rng = np.random.default_rng(seed)
    numbers = pc.cast(pa.array(np.arange(1, markets + 1, dtype=np.int64)), pa.string())
    ids = pc.binary_join_element_wise("S", pc.utf8_lpad(numbers, 7, "0"), "")
    names = pc.binary_join_element_wise("Synthetic market ", numbers, "")
    tables = {MARKETS: pa.Table.from_arrays([ids, names], schema=SCHEMAS[MARKETS])}
    rows = markets * vintages
    row_market = np.repeat(np.arange(markets), vintages)
    dates = np.array(quarter_ends(vintages), dtype="datetime64[D]")
    vintage_col = pa.array(np.tile(dates, markets)).cast(pa.date32())
    msa_col = ids.take(pa.array(row_market))
    pillar_of = {t: p for p, t in zip(RULES_BY_PILLAR, SOURCE_TABLES, strict=True)}
    for table_name in SOURCE_TABLES:
        arrays: list[pa.Array] = [msa_col, vintage_col]
        for rule in RULES_BY_PILLAR[pillar_of[table_name]]:
            # float32/uint8 draws: half the cost of float64 and plenty of resolution for fake data.
            missing = rng.integers(0, round(1 / MISSING_RATE), rows, dtype=np.uint8) == 0
            if rule.kind == "flag":
                arrays.append(pa.array(rng.random(rows, dtype=np.float32) < 0.4, mask=missing))
                continue
            span = rule.high - rule.low
            # A market-level value plus small per-vintage drift, so vintages differ plausibly.
            level = rng.random(markets, dtype=np.float32)[row_market].astype(np.float64)
            level = rule.low - 0.15 * span + 1.3 * span * level
            drift = rng.random(rows, dtype=np.float32) - np.float32(0.5)
            arrays.append(pa.array(level + (0.06 * span) * drift, mask=missing))
        tables[table_name] = pa.Table.from_arrays(arrays, schema=SCHEMAS[table_name])
    return tables


def write_datasets(
    tables: dict[str, pa.Table], out: str | Path, fmt: Literal["parquet", "csv"] = "parquet"
) -> list[Path]:
    """Write ``tables`` as ``<name>.<fmt>`` into ``out`` (created), removing the other format's file."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DATASETS:
        if name not in tables:
            continue
        path = directory / f"{name}.{fmt}"
        other = directory / f"{name}.{'csv' if fmt == 'parquet' else 'parquet'}"
        other.unlink(missing_ok=True)  # both present would make the source ambiguous
        if fmt == "parquet":
            # Dictionary-encoding random floats is wasted work; it dominated write time.
            pq.write_table(tables[name], path, use_dictionary=["msa_id", "name"])
        else:
            pacsv.write_csv(tables[name], path)
        written.append(path)
    return written
