"""``aker show --as-of 2024-06-01`` (or ``python -m aker_tasks.show``): where the results are.

It resolves the same content-addressed targets Luigi would, so the paths it prints match the
current sources, code and settings, names the weights it displays, and says whether the
database publishes exactly these scores (and, if not, what it holds instead). Exports are named
by their stable path (``AKER_EXPORT_DIR/<as_of>/scores.<ext>``), marked when they show other scores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

import orjson

from aker_core.exceptions import AkerError

__all__ = ["main", "publication_of"]


def publication_of(as_of: dt.date) -> dict[str, Any] | None:
    """What the database publishes for ``as_of``: run id, weights, rows, finish time; ``None`` if nothing."""
    from sqlalchemy import Text, cast, func, select
    from sqlalchemy.orm import Session

    from aker_data.models import PillarScore, Run
    from aker_tasks.database import run_engine

    # Grouped by the weights' text: PostgreSQL's json type has no equality operator.
    weights_text = cast(PillarScore.weights, Text)
    with Session(run_engine()) as session:
        row = session.execute(
            select(PillarScore.run_id, weights_text, func.count())
            .where(PillarScore.score_as_of == as_of)
            .group_by(PillarScore.run_id, weights_text)
        ).all()
        if not row:
            return None
        run_id, text, _ = row[0]
        weights = orjson.loads(text)
        run = session.get(Run, run_id) if run_id else None
        return {
            "run_id": run_id,
            "weights": weights,
            "rows": sum(r[2] for r in row),
            "finished_at": run.finished_at.isoformat() if run and run.finished_at else None,
            "mixed": len(row) > 1,
        }


def _weights_text(weights: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in weights.items())


def main(argv: list[str] | None = None) -> int:
    """Print the targets, the database publication and the top markets for an as_of.

    Returns:
        0 when the scores are built and published, 1 when not (run ScoreMarkets), 2 on bad input.
    """
    parser = argparse.ArgumentParser(prog="aker show", description=__doc__)
    parser.add_argument("--as-of", required=True, type=dt.date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--weights", type=orjson.loads, default=None, help="same JSON as ScoreMarkets --weights")
    parser.add_argument("--top", type=int, default=10, help="how many markets to list")
    args = parser.parse_args(argv)

    from aker_tasks.export import CONTENT_TYPES, ExportScores
    from aker_tasks.publication import PublishedScores, PublishScores
    from aker_tasks.score import ComposeScores
    from aker_tasks.targets import CacheTarget

    try:
        compose = ComposeScores(as_of=args.as_of, weights=args.weights)
        scores = compose.output()
        weights = compose.weights_used()
    except AkerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"as of      {args.as_of}   weights: {_weights_text(weights)}")
    if not isinstance(scores, CacheTarget) or not scores.exists():
        print(f"scores as of {args.as_of} are not built for the current inputs: run ScoreMarkets", file=sys.stderr)
        return 1
    meta = scores.sidecar()
    print(f"scores     {scores.path}  ({meta['rows']} markets, run {meta['run_id']})")
    exports = 0
    for fmt in CONTENT_TYPES:
        # The stable path people open (the content-addressed copy stays in the cache).
        export = ExportScores(as_of=args.as_of, format=fmt, weights=args.weights)
        stable = export.stable_path()
        if stable.exists():
            exports += 1
            stale = "" if export.complete() else "  (not these scores: rerun ScoreMarkets or `aker export`)"
            print(f"export     {stable}{stale}")
    if not exports:
        print(f"export     none yet: `aker export --as-of {args.as_of}` writes {export.stable_path().parent}/")
    published = PublishScores(as_of=args.as_of, weights=args.weights).output()
    current = isinstance(published, PublishedScores) and published.exists()
    try:
        held = publication_of(args.as_of)
    except AkerError as e:
        print(f"database   unavailable: {e}", file=sys.stderr)
        held = None
    if current and held:
        print(f"database   publishes these scores (run {held['run_id']}, finished {held['finished_at']})")
    elif held:
        print(
            f"database   holds OTHER scores for {args.as_of}: weights {_weights_text(held['weights'])}, "
            f"run {held['run_id']} -- run ScoreMarkets to publish these",
            file=sys.stderr,
        )
    else:
        print(f"database   holds no scores for {args.as_of} -- run ScoreMarkets to publish these", file=sys.stderr)

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
    return 0 if current else 1


if __name__ == "__main__":
    sys.exit(main())
