"""Scoring throughput: pure compute for 10k/100k/1M markets and refresh_many on SQLite and PostgreSQL.

Run: ``.venv/bin/python benchmarks/bench_scoring.py [--sizes 10000,100000,1000000] [--db-markets 100000]``.
PostgreSQL comes from ``AKER_BENCH_POSTGRES_DSN`` (default the local ``aker_test``); a private
schema is created and dropped. Prints a table of best-of-N wall times.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from aker_core.markets import PillarScoreService
from aker_core.redact import mask_dsn
from aker_core.sample import generate, load_tables
from aker_core.scoring import PILLAR_TABLES, compose, join_pillars, latest_as_of, score_pillar
from aker_data.engine import create_engine_from_url
from aker_data.migrate import upgrade

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/aker_test"
AS_OF = "2024-06-01"


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Fastest wall time of ``repeat`` calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_compute(markets: int, repeat: int) -> tuple[float, float]:
    """(compute seconds for 4 pillars + composite, point-in-time filter seconds for all 4 tables)."""
    tables = generate(markets, 2, seed=1)
    current = {t: latest_as_of(tables[t], AS_OF) for t in PILLAR_TABLES.values()}

    def compute() -> pa.Table:
        return compose(join_pillars([score_pillar(p, current[t]) for p, t in PILLAR_TABLES.items()]))

    def point_in_time() -> None:
        for t in PILLAR_TABLES.values():
            latest_as_of(tables[t], AS_OF)

    return best_of(compute, repeat), best_of(point_in_time, max(1, repeat // 2))


def bench_refresh(url: str, markets: int, repeat: int) -> tuple[float, float]:
    """(first refresh_many seconds incl. inserts, rerun seconds = updates) for ``markets``."""
    engine = create_engine_from_url(url)
    try:
        upgrade(engine)
        factory = sessionmaker(bind=engine)
        with factory() as s, s.begin():
            load_tables(s, generate(markets, 2, seed=1))

        def refresh() -> None:
            with factory() as s, s.begin():
                PillarScoreService(s).refresh_many(as_of=AS_OF)

        first = best_of(refresh, 1)
        return first, best_of(refresh, repeat)
    finally:
        engine.dispose()


def main() -> None:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--db-markets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        compute, pit = bench_compute(size, args.repeat)
        rows.append((f"compute 4 pillars + composite, {size:,} markets", compute, size / compute))
        rows.append((f"point-in-time filter 4 tables, {size:,} markets x 2 vintages", pit, size / pit))
    with tempfile.TemporaryDirectory() as tmp:
        first, again = bench_refresh(f"sqlite:///{Path(tmp) / 'bench.db'}", args.db_markets, args.repeat)
    rows.append((f"refresh_many SQLite, {args.db_markets:,} markets (insert)", first, args.db_markets / first))
    rows.append((f"refresh_many SQLite, {args.db_markets:,} markets (update)", again, args.db_markets / again))
    base = os.environ.get("AKER_BENCH_POSTGRES_DSN", DEFAULT_PG)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine_from_url(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as e:
        # Still print what was measured; say how to get the PostgreSQL rows.
        print(
            f"PostgreSQL rows skipped: cannot connect to {mask_dsn(base)} ({str(e.orig).strip().splitlines()[-1]}); "
            "set AKER_BENCH_POSTGRES_DSN or create it, e.g. createdb -h 127.0.0.1 -U postgres aker_test",
            file=sys.stderr,
        )
        _print(rows)
        return
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        first, again = bench_refresh(url.render_as_string(hide_password=False), args.db_markets, args.repeat)
        rows.append((f"refresh_many PostgreSQL, {args.db_markets:,} markets (insert)", first, args.db_markets / first))
        rows.append((f"refresh_many PostgreSQL, {args.db_markets:,} markets (update)", again, args.db_markets / again))
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    _print(rows)


def _print(rows: list[tuple[str, float, float]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'seconds':>8}  {'markets/s':>12}")
    for name, seconds, rate in rows:
        print(f"{name:<{width}}  {seconds:>8.3f}  {rate:>12,.0f}")


if __name__ == "__main__":
    main()
