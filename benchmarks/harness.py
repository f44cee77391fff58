"""The benchmark harnesses' work that needs pyarrow or SQLAlchemy, run in child processes.

    python benchmarks/harness.py fresh-postgres DSN SCHEMA     # prints a DSN using the fresh schema
    python benchmarks/harness.py save-scores DIR               # of the run in $AKER_CACHE_PATH / $AKER_POSTGIS_DSN
    python benchmarks/harness.py compare DIR DIR ...           # exit 1 and say what differs

Why child processes: a forked child's peak RSS (``ru_maxrss``) starts at its parent's resident
size, so a harness that imported pyarrow (~50 MiB) or SQLAlchemy would add that to every
measured `luigi` process. The timing harnesses import neither.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

__all__ = ["AS_OF", "different_scores", "fresh_postgres", "run_helper", "save_scores"]

#: The as-of date every benchmark scores.
AS_OF = "2024-06-01"
_SCORE_COLUMNS = (
    "msa_id",
    "supply_0_5",
    "jobs_0_5",
    "urban_0_5",
    "outdoor_0_5",
    "weighted_0_5",
    "weighted_0_100",
    "missing_pillars",
)


def run_helper(*args: str, env: dict[str, str] | None = None) -> str:
    """Run this script with ``args`` in a child process; return its standard output."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__)), *args], env=env, check=False, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"harness.py {' '.join(args[:1])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def fresh_postgres(dsn: str, schema: str) -> str:
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


def save_scores(out: Path, env: dict[str, str]) -> None:
    """Save the run's exported scores (``export.parquet``, without ``run_id``, which names each
    run) and its published ``pillar_scores`` rows of :data:`AS_OF` (``published.parquet``, by
    ``msa_id``) into ``out``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    cache = Path(env["AKER_CACHE_PATH"])
    exported = pq.read_table(cache / "exports" / AS_OF / "scores.parquet").drop_columns(["run_id"])
    pq.write_table(exported, out / "export.parquet")
    sql = f"SELECT {', '.join(_SCORE_COLUMNS)} FROM pillar_scores WHERE score_as_of = '{AS_OF}' ORDER BY msa_id"
    dsn = env.get("AKER_POSTGIS_DSN")
    if dsn:
        from sqlalchemy import text

        from aker_data.engine import create_engine_from_url

        engine = create_engine_from_url(dsn)
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(text(sql))]
        engine.dispose()
    else:
        with sqlite3.connect(cache / "aker.db") as conn:
            rows = conn.execute(sql).fetchall()
    published = pa.table({name: [r[i] for r in rows] for i, name in enumerate(_SCORE_COLUMNS)})
    pq.write_table(published, out / "published.parquet")


def different_scores(first: Path, second: Path) -> list[str]:
    """What differs between two :func:`save_scores` directories ([]: nothing).

    Compared by value (``Table.equals``): the same markets, scores, ranks and vintages in the
    same order. PostgreSQL and SQLite may order ``msa_id`` text differently (collation), so
    compare runs of one backend.
    """
    import pyarrow.parquet as pq

    problems = []
    for name in ("export.parquet", "published.parquet"):
        a, b = pq.read_table(first / name), pq.read_table(second / name)
        if not a.equals(b):
            problems.append(f"{name}: {first.name} and {second.name} differ")
    return problems


def main(argv: list[str]) -> int:
    """Dispatch a subcommand (see the module docstring)."""
    if len(argv) == 3 and argv[0] == "fresh-postgres":
        print(fresh_postgres(argv[1], argv[2]))
        return 0
    if len(argv) == 2 and argv[0] == "save-scores":
        save_scores(Path(argv[1]), dict(os.environ))
        return 0
    if len(argv) >= 3 and argv[0] == "compare":
        dirs = [Path(d) for d in argv[1:]]
        problems = [p for d in dirs[1:] for p in different_scores(dirs[0], d)]
        print("\n".join(problems) or f"same scores in {len(dirs)} runs")
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
