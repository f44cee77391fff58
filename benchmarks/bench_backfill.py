"""Backfill benchmark: one history scored by one `aker backfill` vs one `luigi` process per date.

    python benchmarks/bench_backfill.py [--markets 100000] [--dates 8] [--freq quarter] [--vintages 8]
        [--workers 2] [--repeat 1] [--database DSN]

It generates a source (``--vintages`` consecutive quarter-end vintages ending 2024-03-31) with
``python -m aker_core.sample``, picks the ``--dates`` last period ends up to 2024-06-30, and times
whole processes against a fresh SQLite database (or, with ``--database``, a fresh schema in that
PostgreSQL database), each phase from a fresh cache and database unless said otherwise:

* one date cold -- ``luigi --module aker_tasks ScoreMarkets --as-of <last date>``;
* backfill cold -- ``aker backfill --start .. --end .. --freq ..`` (one Luigi run, every date);
* backfill rerun -- the same command again, nothing changed;
* shell loop -- one ``luigi ... ScoreMarkets`` process per date, oldest first (what README showed
  before ``aker backfill``).

The issue's target (#14) is backfill cold <= 3x one date cold. Wall time is the whole process;
peak RSS the largest resident set of it and its worker children.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_pipeline import run_timed as _run

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: The last backfill date: a quarter after the generator's last vintage, so it shares its cut.
LAST_DATE = "2024-06-30"


def _generate(markets: int, vintages: int, out: Path) -> None:
    subprocess.run(
        [
            *(sys.executable, "-m", "aker_core.sample", "--markets", str(markets), "--vintages", str(vintages)),
            *("--out", str(out), "--seed", "1", "--format", "parquet"),
        ],
        cwd=ROOT,
        check=True,
    )


def _fresh_database(dsn: str | None, base: Path, name: str) -> str:
    """A new empty database: a SQLite file under ``base``, or a recreated schema in ``dsn``."""
    if dsn is None:
        return f"sqlite:///{base / f'{name}.db'}"
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from aker_data.engine import create_engine_from_url

    engine = create_engine_from_url(dsn)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    return make_url(dsn).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)


def _fresh_env(base: Path, src: Path, dsn: str | None, name: str) -> dict[str, str]:
    """The environment of a fresh cache and a migrated fresh database."""
    cache = base / f"cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKER_")}
    env.update(AKER_CACHE_PATH=str(cache), AKER_SOURCE_URI=str(src))
    env["AKER_POSTGIS_DSN"] = _fresh_database(dsn, base, f"aker_bench_backfill_{name}")
    # Migrate first so the cold runs measure the pipeline, not creating the schema.
    subprocess.run([str(BIN / "aker"), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def bench(args: argparse.Namespace) -> list[tuple[str, float, float, float]]:
    """(phase, best wall, median wall, largest peak RSS) of each phase over ``args.repeat`` rounds."""
    from aker_core.dates import period_ends

    everything = period_ends("2000-01-01", LAST_DATE, args.freq)
    dates = everything[-args.dates :]
    print(f"dates: {', '.join(d.isoformat() for d in dates)}", file=sys.stderr)
    luigi = [str(BIN / "luigi"), "--module", "aker_tasks", "ScoreMarkets", "--local-scheduler"]
    luigi += ["--workers", str(args.workers), "--format", "parquet"]
    backfill = [str(BIN / "aker"), "backfill", "--start", dates[0].isoformat(), "--end", dates[-1].isoformat()]
    backfill += ["--freq", args.freq, "--workers", str(args.workers), "--format", "parquet", "--local-scheduler"]
    walls: dict[str, list[float]] = {}
    peaks: dict[str, float] = {}

    def record(phase: str, wall: float, rss: float) -> None:
        walls.setdefault(phase, []).append(wall)
        peaks[phase] = max(rss, peaks.get(phase, 0.0))

    with tempfile.TemporaryDirectory(prefix="aker-bench-backfill-") as tmp:
        base = Path(tmp)
        src = base / "src"
        _generate(args.markets, args.vintages, src)
        for _ in range(args.repeat):
            record(
                "one date cold",
                *_run([*luigi, "--as-of", dates[-1].isoformat()], _fresh_env(base, src, args.database, "one")),
            )
            env = _fresh_env(base, src, args.database, "backfill")
            record("backfill cold", *_run(backfill, env))
            record("backfill rerun", *_run(backfill, env))
            env = _fresh_env(base, src, args.database, "loop")
            total, peak = 0.0, 0.0
            for day in dates:
                wall, rss = _run([*luigi, "--as-of", day.isoformat()], env)
                total, peak = total + wall, max(peak, rss)
            record("shell loop", total, peak)
    return [(phase, min(w), statistics.median(w), peaks[phase]) for phase, w in walls.items()]


def main() -> int:
    """Parse arguments, run, print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markets", type=int, default=100_000)
    parser.add_argument("--dates", type=int, default=8, help="period ends to score (the last ones up to 2024-06-30)")
    parser.add_argument("--freq", choices=("quarter", "month", "week"), default="quarter")
    parser.add_argument("--vintages", type=int, default=8, help="quarter-end vintages in each source")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--database", metavar="DSN", help="a PostgreSQL database instead of SQLite")
    args = parser.parse_args()
    backend = "postgresql" if args.database else "sqlite"
    print(
        f"{'phase':<16} {'best s':>7} {'median s':>9} {'peak RSS MiB':>13}   ({args.markets} markets, {args.dates} "
        f"{args.freq}-ends, {args.vintages} vintages, {backend}, workers={args.workers}, cores={os.cpu_count()})"
    )
    rows = bench(args)
    for phase, best, median, rss in rows:
        print(f"{phase:<16} {best:7.2f} {median:9.2f} {rss:13.0f}")
    medians = {phase: median for phase, _, median, _ in rows}
    print(f"backfill cold / one date cold: {medians['backfill cold'] / medians['one date cold']:.2f}x (target <= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
