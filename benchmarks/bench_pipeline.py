"""End-to-end pipeline benchmark: whole `luigi` processes on generated data.

    python benchmarks/bench_pipeline.py --markets 100000 1000000 [--workers 2] [--repeat 3] [--postgres DSN]

For each size it generates a source (2 vintages) with ``python -m aker_core.sample``, then times
three `luigi --module aker_tasks ScoreMarkets` processes against a fresh SQLite database (or,
with ``--postgres``, a fresh schema in that PostgreSQL database):
cold (nothing cached), cached (nothing changed), and one source changed (market_jobs
rewritten with other values), each repeated for --repeat rounds (best and median shown). Wall time
is the whole process, from fork to exit, database persistence included;
peak RSS is the largest resident set of the luigi process and its worker children.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS MiB of it and its children).

    Timed from just before the fork to the reap of the process itself: ``os.wait4`` returns
    its resource usage, whose peak RSS covers the worker children it reaped. (An earlier
    version ran a small Python wrapper around the command, whose own start-up, ~25 ms,
    was counted too.)
    """
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            out.seek(0)
            log = out.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{log[-4000:]}")
    return wall, usage.ru_maxrss / 1024


def _generate(markets: int, out: Path, seed: int) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "aker_core.sample",
            "--markets",
            str(markets),
            "--vintages",
            "2",
            "--out",
            str(out),
            "--seed",
            str(seed),
            "--format",
            "parquet",
        ],
        cwd=ROOT,
        check=True,
    )


def _fresh_postgres(dsn: str, schema: str) -> str:
    """Recreate ``schema`` in the PostgreSQL database and return a DSN that uses it."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from aker_data.engine import create_engine_from_url

    engine = create_engine_from_url(dsn)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = make_url(dsn).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def bench(
    markets: int, workers: int, repeat: int, postgres: str | None = None
) -> list[tuple[str, float, float, float]]:
    """Time cold / cached / one-source-changed runs for one size.

    Returns (phase, best wall, median wall, largest peak RSS) over ``repeat`` rounds: run-to-run
    noise on a small machine is ~10%, so both the best and the typical run are shown.
    """
    walls: dict[str, list[float]] = {}
    peaks: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="aker-bench-") as tmp:
        base = Path(tmp)
        _generate(markets, base / "src", seed=1)
        _generate(markets, base / "alt", seed=2)
        for _ in range(repeat):
            cache = base / "cache"
            shutil.rmtree(cache, ignore_errors=True)
            src = base / "run-src"
            shutil.rmtree(src, ignore_errors=True)
            shutil.copytree(base / "src", src)
            env = {
                **os.environ,
                "AKER_CACHE_PATH": str(cache),
                "AKER_SOURCE_URI": str(src),
            }
            env.pop("AKER_POSTGIS_DSN", None)
            if postgres:
                env["AKER_POSTGIS_DSN"] = _fresh_postgres(postgres, "aker_bench_pipeline")
            cmd = [
                str(BIN / "luigi"),
                "--module",
                "aker_tasks",
                "ScoreMarkets",
                "--as-of",
                "2024-06-01",
                "--local-scheduler",
                "--workers",
                str(workers),
                # The graph ends with an export; parquet keeps its cost small beside the rest.
                "--format",
                "parquet",
            ]
            # Migrate first so the cold run measures the pipeline, not creating the schema.
            subprocess.run(
                [str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True, capture_output=True
            )
            for phase in ("cold", "cached", "one source changed"):
                if phase == "one source changed":
                    shutil.copy(base / "alt" / "market_jobs.parquet", src / "market_jobs.parquet")
                wall, rss = _run(cmd, env)
                walls.setdefault(phase, []).append(wall)
                peaks[phase] = max(rss, peaks.get(phase, 0.0))
    return [(phase, min(w), statistics.median(w), peaks[phase]) for phase, w in walls.items()]


def main() -> int:
    """Parse arguments, run, print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markets", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", metavar="DSN", help="persist to this PostgreSQL database instead of SQLite")
    args = parser.parse_args()
    backend = "postgresql" if args.postgres else "sqlite"
    print(
        f"{'markets':>9}  {'phase':<20} {'best s':>7} {'median s':>9} {'peak RSS MiB':>13}   ({backend}, "
        f"workers={args.workers}, {args.repeat} rounds, cores={os.cpu_count()})"
    )
    for n in args.markets:
        for phase, best, median, rss in bench(n, args.workers, args.repeat, args.postgres):
            print(f"{n:>9}  {phase:<20} {best:7.2f} {median:9.2f} {rss:13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
