"""End-to-end pipeline benchmark: whole `luigi` processes on generated data, in any data shape.

    python benchmarks/bench_pipeline.py --markets 100000 1000000 [--workers 2] [--repeat 3] [--postgres DSN]
        [--order sorted|vintage-major|shuffled] [--vintages 2] [--row-group-rows N]
        [--source-format parquet|csv] [--workloads cold cached ...]

For each size it writes a source directory of the chosen shape (:mod:`shapes`: the generator's
content in another row order, row groups or format; by default the generator's own sorted
parquet, 2 vintages), then times `luigi` processes against a fresh SQLite database (or, with
``--postgres``, a fresh schema in that PostgreSQL database), each repeated for --repeat rounds
(best and median shown):

* ``cold``: `ScoreMarkets`, nothing cached;
* ``cached``: the same `ScoreMarkets` again, nothing changed;
* ``cached ExportScores``: `luigi --module aker_tasks ExportScores --as-of ... --format parquet
  --local-scheduler` alone, everything cached (what a user asking for the file again runs);
* ``one source changed``: `ScoreMarkets` after market_jobs was rewritten with other values
  (another seed, same shape).

Wall time is the whole process, from fork to exit, database persistence included; peak RSS is
the largest resident set of the luigi process and its worker children.
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
from dataclasses import dataclass, replace
from pathlib import Path

from harness import AS_OF, run_helper
from shapes import FORMATS, ORDERS, Shape

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: Workloads in the order they run within a round (each needs the ones before it).
WORKLOADS: tuple[str, ...] = ("cold", "cached", "cached ExportScores", "one source changed")
#: The dataset the "one source changed" workload replaces.
CHANGED_DATASET = "market_jobs"


@dataclass(frozen=True)
class Result:
    """One workload's timings over the rounds."""

    workload: str
    best: float
    median: float
    #: Largest peak RSS (MiB) over the rounds.
    rss: float


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS MiB of it and its children).

    Timed from just before the fork to the reap of the process itself: ``os.wait4`` returns
    its resource usage, whose peak RSS covers the worker children it reaped. (An earlier
    version ran a small Python wrapper around the command, whose own start-up, ~25 ms,
    was counted too.) The peak also covers the child's life before ``exec``, a copy of this
    harness: so the harness imports neither pyarrow nor SQLAlchemy (``shapes.py`` and
    ``harness.py`` do that work in their own processes), else every peak grew by their ~50-70 MiB.
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


def _write_shape(shape: Shape, out: Path, seed: int, datasets: tuple[str, ...] = ()) -> None:
    """``shapes.py`` in a child process: the generated tables never enlarge the harness."""
    cmd = [sys.executable, str(Path(__file__).with_name("shapes.py")), "--markets", str(shape.markets)]
    cmd += ["--out", str(out), "--vintages", str(shape.vintages), "--order", shape.order, "--seed", str(seed)]
    cmd += ["--source-format", shape.source_format]
    if shape.row_group_rows is not None:
        cmd += ["--row-group-rows", str(shape.row_group_rows)]
    if datasets:
        cmd += ["--datasets", *datasets]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def _commands(workers: int) -> dict[str, list[str]]:
    score = [
        str(BIN / "luigi"),
        "--module",
        "aker_tasks",
        "ScoreMarkets",
        "--as-of",
        AS_OF,
        "--local-scheduler",
        "--workers",
        str(workers),
        # The graph ends with an export; parquet keeps its cost small beside the rest.
        "--format",
        "parquet",
    ]
    # The command for a cached export, as a user types it.
    export = [str(BIN / "luigi"), "--module", "aker_tasks", "ExportScores", "--as-of", AS_OF]
    export += ["--format", "parquet", "--local-scheduler"]
    return {"cold": score, "cached": score, "cached ExportScores": export, "one source changed": score}


def bench(
    markets: int,
    workers: int,
    repeat: int,
    postgres: str | None = None,
    shape: Shape | None = None,
    workloads: tuple[str, ...] = WORKLOADS,
    keep_scores: Path | None = None,
) -> list[Result]:
    """Time ``workloads`` for one size and data shape.

    Args:
        markets: markets generated (overrides ``shape.markets``).
        workers: luigi workers of the `ScoreMarkets` runs.
        repeat: rounds; each starts from an empty cache and a fresh database.
        postgres: a PostgreSQL DSN (a fresh schema is made in it), or ``None`` for SQLite.
        shape: the source layout (default: the generator's sorted parquet, 2 vintages).
        workloads: a subset of :data:`WORKLOADS`; the rounds always start with a cold run.
        keep_scores: if given, the first round's cold run saves its exported and published
            scores there (``harness.py save-scores``), for comparing shapes.

    Returns:
        Best and median wall and largest peak RSS per workload, over ``repeat`` rounds: run-to-run
        noise on a small machine is ~10%, so both the best and the typical run are shown.
    """
    shape = replace(shape or Shape(markets), markets=markets)
    walls: dict[str, list[float]] = {}
    peaks: dict[str, float] = {}
    commands = _commands(workers)
    with tempfile.TemporaryDirectory(prefix="aker-bench-") as tmp:
        base = Path(tmp)
        _write_shape(shape, base / "src", seed=1)
        if "one source changed" in workloads:
            _write_shape(shape, base / "alt", seed=2, datasets=(CHANGED_DATASET,))
        for round_ in range(repeat):
            cache = base / "cache"
            shutil.rmtree(cache, ignore_errors=True)
            src = base / "run-src"
            shutil.rmtree(src, ignore_errors=True)
            shutil.copytree(base / "src", src)
            env = {**os.environ, "AKER_CACHE_PATH": str(cache), "AKER_SOURCE_URI": str(src)}
            env.pop("AKER_POSTGIS_DSN", None)
            env.pop("AKER_EXPORT_DIR", None)
            if postgres:
                env["AKER_POSTGIS_DSN"] = run_helper("fresh-postgres", postgres, "aker_bench_pipeline").strip()
            # Migrate first so the cold run measures the pipeline, not creating the schema.
            subprocess.run(
                [str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True, capture_output=True
            )
            for workload in WORKLOADS:
                if workload != "cold" and workload not in workloads:
                    continue
                if workload == "one source changed":
                    name = f"{CHANGED_DATASET}.{shape.source_format}"
                    shutil.copy(base / "alt" / name, src / name)
                wall, rss = run_timed(commands[workload], env)
                if workload == "cold" and round_ == 0 and keep_scores is not None:
                    run_helper("save-scores", str(keep_scores), env=env)
                if workload in workloads:
                    walls.setdefault(workload, []).append(wall)
                    peaks[workload] = max(rss, peaks.get(workload, 0.0))
    return [Result(w, min(t), statistics.median(t), peaks[w]) for w, t in walls.items()]


def main() -> int:
    """Parse arguments, run, print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markets", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", metavar="DSN", help="persist to this PostgreSQL database instead of SQLite")
    parser.add_argument("--order", choices=ORDERS, default="sorted", help="row order of the source files")
    parser.add_argument("--vintages", type=int, default=2, help="vintages per market")
    parser.add_argument("--row-group-rows", type=int, help="rows per parquet row group (default: one per file)")
    parser.add_argument("--source-format", choices=FORMATS, default="parquet")
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS), metavar="WORKLOAD")
    args = parser.parse_args()
    backend = "postgresql" if args.postgres else "sqlite"
    shape = Shape(0, args.vintages, args.order, args.row_group_rows, args.source_format)
    print(
        f"{'markets':>9}  {'phase':<20} {'best s':>7} {'median s':>9} {'peak RSS MiB':>13}   ({backend}, "
        f"{shape.label().split(' ', 1)[1]}, workers={args.workers}, {args.repeat} rounds, cores={os.cpu_count()})"
    )
    for n in args.markets:
        for r in bench(n, args.workers, args.repeat, args.postgres, shape, tuple(args.workloads)):
            print(f"{n:>9}  {r.workload:<20} {r.best:7.2f} {r.median:9.2f} {r.rss:13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
