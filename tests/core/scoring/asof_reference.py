"""An independent, plain-Python statement of the as-of rule the selection paths are checked against.

Per market, the row with the latest ``data_vintage`` on or before ``as_of``; rows with a null
market id or vintage are never kept; of tied rows (same market and vintage) the first in input
order; the kept rows ordered by market id (code point order, as Arrow and a C collation sort).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


def latest_indices(ids: Sequence[str | None], vintages: Sequence[dt.date | None], as_of: dt.date) -> list[int]:
    """Row numbers the as-of rule keeps, ordered by market id."""
    best: dict[str, int] = {}
    for i, (market, vintage) in enumerate(zip(ids, vintages, strict=True)):
        if market is None or vintage is None or vintage > as_of:
            continue
        kept = best.get(market)
        kept_vintage = vintages[kept] if kept is not None else None
        if kept_vintage is None or vintage > kept_vintage:
            best[market] = i
    return [best[m] for m in sorted(best)]
