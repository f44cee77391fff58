"""``python -m aker_tasks.show --as-of 2024-06-01``: where the results are, and the top markets.

It resolves the same content-addressed targets Luigi would, so the paths it prints are the
ones that match the current sources, code and settings (or it says they are not built).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import orjson

from aker_core.exceptions import AkerError
from aker_tasks.export import CONTENT_TYPES, ExportScores
from aker_tasks.score import ScoreMarkets
from aker_tasks.targets import CacheTarget


def main(argv: list[str] | None = None) -> int:
    """Print the score and export targets for an as_of and the top markets; 0 if built, 1 if not."""
    parser = argparse.ArgumentParser(prog="python -m aker_tasks.show", description=__doc__)
    parser.add_argument("--as-of", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--weights", type=orjson.loads, default=None, help="same JSON as ScoreMarkets --weights")
    parser.add_argument("--top", type=int, default=10, help="how many markets to list")
    args = parser.parse_args(argv)
    try:
        scores = ScoreMarkets(as_of=args.as_of, weights=args.weights).output()
    except AkerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not isinstance(scores, CacheTarget) or not scores.exists():
        print(f"scores as of {args.as_of} are not built for the current inputs: run ScoreMarkets", file=sys.stderr)
        return 1
    meta = scores.sidecar()
    print(f"scores     {scores.path}  ({meta['rows']} markets, run {meta['run_id']})")
    for fmt in CONTENT_TYPES:
        export = ExportScores(as_of=args.as_of, format=fmt, weights=args.weights).output()
        if isinstance(export, CacheTarget) and export.exists():
            print(f"export     {export.path}")
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    with pq.ParquetFile(scores.path) as source:
        table = source.read(columns=["msa_id", "name", "weighted_0_100", "missing_pillars"])
    ranked = table.filter(pc.is_valid(table["weighted_0_100"])).sort_by(
        [("weighted_0_100", "descending"), ("msa_id", "ascending")]
    )
    print(f"\ntop {min(args.top, ranked.num_rows)} of {ranked.num_rows} markets with a composite (0-100):")
    for row in ranked.slice(0, args.top).to_pylist():
        print(f"  {row['weighted_0_100']:6.1f}  {row['msa_id']:>6}  {row['name']}")
    incomplete = table.num_rows - ranked.num_rows
    if incomplete:
        print(f"  ({incomplete} market(s) lack a pillar; see missing_pillars)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
