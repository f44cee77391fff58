"""The floor: a cold `ScoreMarkets`'s work in one bare process, without Luigi or aker's task machinery.

    python benchmarks/floor.py --markets 100000 [--order sorted|vintage-major|shuffled] [--vintages 2]
        [--row-group-rows N] [--source-format parquet|csv] [--postgres DSN] [--repeat 3] [--source DIR]

What one process does, stage by stage, on a source directory of the chosen shape (:mod:`shapes`,
or ``--source DIR`` with the five files):

1. **imports**: pyarrow (parquet, compute, csv for CSV sources), numpy, the database driver
   (``sqlite3`` or ``psycopg``); then, timed apart, aker's pure scoring functions (whose
   ``aker_core.config.weights`` imports pydantic);
2. **read + point-in-time**: each of the five files read with pyarrow (``msa_id`` dictionary
   encoded), each market's latest vintage on or before the as-of date picked in one pass over
   the dictionary codes (``np.maximum.at`` of (vintage, row) packed in an int64; ``--latest
   groupby``: pyarrow's hash ``Table.group_by`` instead, ~10x slower at 100k), whatever the row
   order and without sorting the rows; only the dictionary (one string per market) is sorted,
   then every column is taken once; keys checked for nulls and duplicates and metrics for
   infinities, as aker validates;
3. **score**: ``aker_core.scoring.score_pillar`` x4, ``join_pillars`` and ``compose`` -- aker's
   own functions, which are plain pyarrow/numpy without I/O -- plus names and vintages;
4. **write composite**: the composite parquet (uncompressed, as aker's cache targets);
5. **database load**: one transaction: the run row, the date's old rows deleted, the composite's
   rows inserted into a table shaped like ``pillar_scores`` (same columns, unique key and
   ``run_id`` foreign key): SQLite by one ``executemany`` of bound rows (the date, weights and
   run id written into the statement once), PostgreSQL by ``COPY`` of Arrow-written CSV;
6. **export**: rank, the export's columns, sorted by rank, written as zstd parquet.

The schema is created before timing (the pipeline benchmark migrates before its cold run too).
Not done: intermediate cache files, sidecars, run records and lineage, hashing the sources --
the task machinery's work, which this floor leaves out on purpose.

Also measured, not counted in the total: the database load again into a table *without* the
foreign key, checking the run once per write instead (``SELECT ... FOR KEY SHARE`` on
PostgreSQL, which also keeps the run from being deleted until commit; a plain lookup on SQLite,
whose write lock already excludes other writers).

Printed per stage: best and median seconds over --repeat fresh processes, the in-process total,
the whole process from fork to exit, the interpreter start-up alone (``python -c pass``), and
the peak RSS.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()  # before every import but the interpreter's own

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

AS_OF = "2024-06-01"
RUN_ID = "00000000-0000-4000-8000-000000000001"
#: aker's default weights, normalised (what ScoreMarkets publishes with when none are given).
WEIGHTS = {"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2}
PILLAR_COLUMNS = ("supply_0_5", "jobs_0_5", "urban_0_5", "outdoor_0_5")
#: Columns written, in aker's order (``id`` comes from the table).
WRITTEN: tuple[str, ...] = ("msa_id", "score_as_of", *PILLAR_COLUMNS, "weighted_0_5", "weighted_0_100")
WRITTEN += ("weights", "missing_pillars", "run_id")
CHUNK_ROWS = 50_000
#: How the latest row per market is found: ``numpy`` (``np.maximum.at`` on the dictionary codes)
#: or ``groupby`` (pyarrow's hash ``Table.group_by``); set by --latest.
LATEST = "numpy"
#: Seconds spent reading the files (decoding included), summed over the five; the rest of
#: "read + point-in-time" is validation, point-in-time and taking the rows.
_READING: list[float] = []


def _ddl(foreign_key: bool, serial: str) -> list[str]:
    """``runs`` (its key only matters here) and a table shaped like ``pillar_scores``."""
    fk = ", CONSTRAINT fk_run FOREIGN KEY (run_id) REFERENCES runs (run_id) ON DELETE SET NULL" if foreign_key else ""
    return [
        "CREATE TABLE runs (run_id VARCHAR(36) NOT NULL PRIMARY KEY, status VARCHAR(16) NOT NULL)",
        f"""CREATE TABLE pillar_scores (id {serial}, msa_id VARCHAR(32) NOT NULL, score_as_of DATE NOT NULL,
            supply_0_5 FLOAT, jobs_0_5 FLOAT, urban_0_5 FLOAT, outdoor_0_5 FLOAT, weighted_0_5 FLOAT,
            weighted_0_100 FLOAT, weights JSON NOT NULL, missing_pillars VARCHAR(64), run_id VARCHAR(36),
            CONSTRAINT uq_as_of_msa UNIQUE (score_as_of, msa_id){fk})""",
    ]


# --- the child: the work itself ---------------------------------------------------------------


def _latest(ids: pa.ChunkedArray, days: pa.ChunkedArray, as_of_day: int) -> tuple[np.ndarray, pa.Array]:
    """Rows of each market's latest vintage <= ``as_of_day``, in ``msa_id`` order, and their ids."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = ids.unify_dictionaries().combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    if ids.null_count or days.null_count:
        raise SystemExit("null msa_id or data_vintage")
    codes = ids.indices.to_numpy().astype(np.int64)
    day = days.combine_chunks().cast(pa.int32()).to_numpy().astype(np.int64)
    if pc.count_distinct(pa.array((codes << 32) | day)).as_py() != len(codes):
        raise SystemExit("duplicate (msa_id, data_vintage)")
    keep = day <= as_of_day
    # The latest kept row per market in one pass: the maximum of (day, row) packed in an int64,
    # per dictionary code (codes are dense, 0 .. markets - 1).
    packed = (day[keep] << 32) | np.flatnonzero(keep)
    by_code = np.full(len(ids.dictionary), -1, dtype=np.int64)
    if LATEST == "groupby":
        groups = pa.table({"code": codes[keep], "packed": packed}).group_by("code").aggregate([("packed", "max")])
        by_code[groups["code"].to_numpy()] = groups["packed_max"].to_numpy()
    else:
        np.maximum.at(by_code, codes[keep], packed)
    by_code[by_code >= 0] &= 0xFFFFFFFF
    # Order by msa_id: sort the dictionary (one string per market), not the rows.
    dictionary_order = pc.sort_indices(ids.dictionary).to_numpy()
    in_order = by_code[dictionary_order]
    present = in_order >= 0  # markets whose every vintage is after as_of have no row
    return in_order[present], ids.dictionary.take(pa.array(dictionary_order[present])).cast(pa.string())


def _read(name: str, path: Path, metrics: list[tuple[str, bool]], as_of_day: int) -> pa.Table:
    """One source: read, validate, cut to each market's latest vintage; sorted by ``msa_id``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not metrics:  # markets: one row per market, no vintages
        if path.suffix == ".parquet":
            with pq.ParquetFile(path) as source:
                table = source.read(columns=["msa_id", "name"])
        else:
            import pyarrow.csv as pacsv

            options = pacsv.ConvertOptions(
                column_types={"msa_id": pa.string(), "name": pa.string()}, include_columns=["msa_id", "name"]
            )
            table = pacsv.read_csv(path, convert_options=options)
        if table["msa_id"].null_count or pc.count_distinct(table["msa_id"]).as_py() != table.num_rows:
            raise SystemExit(f"{name}: null or duplicate msa_id")
        return table.sort_by("msa_id")
    wanted = ["msa_id", "data_vintage", *(m for m, _ in metrics)]
    start = time.perf_counter()
    if path.suffix == ".parquet":
        with pq.ParquetFile(path, read_dictionary=["msa_id"]) as source:
            table = source.read(columns=wanted)
    else:
        import pyarrow.csv as pacsv

        types: dict[str, pa.DataType] = {"msa_id": pa.dictionary(pa.int32(), pa.string()), "data_vintage": pa.date32()}
        types.update({m: pa.bool_() if flag else pa.float64() for m, flag in metrics})
        options = pacsv.ConvertOptions(column_types=types, include_columns=wanted, strings_can_be_null=False)
        table = pacsv.read_csv(path, convert_options=options)
    _READING.append(time.perf_counter() - start)
    for metric, flag in metrics:
        if not flag and pc.any(pc.is_inf(table[metric])).as_py():
            raise SystemExit(f"{name}.{metric}: infinite value")
    rows, ids = _latest(table["msa_id"], table["data_vintage"], as_of_day)
    taken = pa.array(np.asarray(rows))
    columns = {"msa_id": ids, "data_vintage": table["data_vintage"].combine_chunks().take(taken)}
    columns.update({m: table[m].combine_chunks().take(taken) for m, _ in metrics})
    return pa.table(columns)


def _sqlite_load(db: Path, composite: pa.Table, foreign_key: bool) -> None:
    """The composite's rows into SQLite, one transaction, as aker's publication writes them."""
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None)
    try:
        # aker's engine settings; synchronous is per connection (journal_mode=WAL is in the file).
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA foreign_keys={'ON' if foreign_key else 'OFF'}")
        weights = json.dumps(WEIGHTS).replace("'", "''")
        constant = {"score_as_of": f"'{AS_OF}'", "weights": f"'{weights}'", "run_id": f"'{RUN_ID}'"}
        values = ", ".join(constant.get(c, "?") for c in WRITTEN)
        bound = [c for c in WRITTEN if c not in constant]
        conn.execute("BEGIN")
        conn.execute("INSERT INTO runs VALUES (?, 'completed')", (RUN_ID,))
        if not foreign_key and conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (RUN_ID,)).fetchone() is None:
            raise SystemExit("the run does not exist")  # the once-per-write check
        conn.execute("DELETE FROM pillar_scores WHERE score_as_of = ?", (AS_OF,))

        def rows() -> Any:
            for start in range(0, composite.num_rows, CHUNK_ROWS):
                chunk = composite.slice(start, CHUNK_ROWS)
                yield from zip(*(chunk[c].to_pylist() for c in bound), strict=True)

        conn.executemany(f"INSERT INTO pillar_scores ({', '.join(WRITTEN)}) VALUES ({values})", rows())
        conn.execute("COMMIT")
    finally:
        conn.close()


def _postgres_load(dsn: str, schema: str, composite: pa.Table, foreign_key: bool) -> None:
    """The composite's rows into PostgreSQL by ``COPY``, one transaction."""
    import io

    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv

    n = composite.num_rows
    full = pa.table(
        {
            "msa_id": composite["msa_id"],
            "score_as_of": pa.repeat(pa.scalar(AS_OF), n),
            **{c: composite[c] for c in (*PILLAR_COLUMNS, "weighted_0_5", "weighted_0_100")},
            "weights": pa.repeat(pa.scalar(json.dumps(WEIGHTS)), n),
            "missing_pillars": composite["missing_pillars"],
            "run_id": pa.repeat(pa.scalar(RUN_ID), n),
        }
    )
    buffer = io.BytesIO()
    pacsv.write_csv(full, buffer, write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    with psycopg.connect(dsn, options=f"-csearch_path={schema}") as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO runs VALUES (%s, 'completed')", (RUN_ID,))
        if (
            not foreign_key
            and cur.execute("SELECT 1 FROM runs WHERE run_id = %s FOR KEY SHARE", (RUN_ID,)).fetchone() is None
        ):
            raise SystemExit("the run does not exist")  # the once-per-write check
        cur.execute("DELETE FROM pillar_scores WHERE score_as_of = %s", (AS_OF,))
        with cur.copy(f"COPY pillar_scores ({', '.join(WRITTEN)}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())


def _export(composite: pa.Table, path: Path) -> None:
    """Rank (competition ranking, best first), the export's columns, sorted by rank; zstd parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    n = composite.num_rows
    score = composite["weighted_0_5"].combine_chunks()
    valid = np.asarray(pc.is_valid(score).to_numpy(zero_copy_only=False), dtype=bool)
    present = -np.asarray(pc.fill_null(score, 0.0).to_numpy(zero_copy_only=False))[valid]
    ranks = np.zeros(n, dtype=np.int32)
    ranks[valid] = np.searchsorted(np.sort(present), present, side="left") + 1
    rank = pa.array(ranks, mask=~valid)
    table = pa.table(
        {
            "as_of": pa.repeat(pa.scalar(AS_OF).cast(pa.date32()), n),
            "msa_id": composite["msa_id"],
            "name": composite["name"],
            "rank": rank,
            "rank_change": pa.nulls(n, pa.int32()),
            **{c: composite[c] for c in (*PILLAR_COLUMNS, "weighted_0_5", "weighted_0_100")},
            "missing_pillars": pc.fill_null(pc.replace_substring(composite["missing_pillars"], ",", ";"), ""),
            **{c: composite[c] for c in composite.column_names if c.endswith("_vintage")},
            "weights": pa.repeat(pa.scalar(";".join(f"{k}={v!r}" for k, v in WEIGHTS.items())), n),
            "run_id": pa.repeat(pa.scalar(RUN_ID), n),
        }
    )
    key = pa.table({"rank": pc.fill_null(rank, np.iinfo(np.int32).max), "msa_id": composite["msa_id"]})
    order = pc.sort_indices(key, sort_keys=[("rank", "ascending"), ("msa_id", "ascending")])
    pq.write_table(table.take(order), path, compression="zstd", compression_level=1, use_dictionary=False)


def child(source: Path, out: Path, postgres: str | None, schema: str, variant_first: bool) -> dict[str, float]:
    """Do the work; return seconds per stage (``imports`` counted from this module's first line)."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    import numpy as np  # noqa: F401
    import numpy.ma  # noqa: F401  (pa.array of a numpy array loads it: an import, counted as one)
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if any(source.glob("*.csv")):
        import pyarrow.csv
    if postgres:
        import psycopg  # noqa: F401
        import pyarrow.csv
    else:
        import sqlite3  # noqa: F401
    times["imports: pyarrow, numpy, driver"] = time.perf_counter() - _T0
    mark = time.perf_counter()
    # aker's scoring functions; aker_core.config.weights brings pydantic with them.
    from aker_core.scoring import compose, join_pillars, score_pillar
    from aker_core.scoring.rules import PILLAR_TABLES, RULES_BY_PILLAR

    times["imports: aker_core.scoring"] = time.perf_counter() - mark
    times["(imports: of which stdlib, before main)"] = start - _T0

    mark = time.perf_counter()
    as_of_day = int(pa.scalar(AS_OF).cast(pa.date32()).cast(pa.int32()).as_py())
    sources: dict[str, pa.Table] = {}
    for name in ("markets", *PILLAR_TABLES.values()):
        path = next(p for p in (source / f"{name}.parquet", source / f"{name}.csv") if p.exists())
        pillar = next((p for p, t in PILLAR_TABLES.items() if t == name), None)
        metrics = [] if pillar is None else [(r.metric, r.kind == "flag") for r in RULES_BY_PILLAR[pillar]]
        sources[name] = _read(name, path, metrics, as_of_day)
    times["read + point-in-time"] = time.perf_counter() - mark
    times["  of which reading the four source files"] = sum(_READING)

    mark = time.perf_counter()
    pillars = {p: score_pillar(p, sources[t]) for p, t in PILLAR_TABLES.items()}
    composite = compose(join_pillars(list(pillars.values())), weights=WEIGHTS)
    ids = composite["msa_id"]
    markets = sources["markets"]
    composite = composite.add_column(1, "name", markets["name"].take(pc.index_in(ids, value_set=markets["msa_id"])))
    for pillar, table_name in PILLAR_TABLES.items():
        fetched = sources[table_name]
        vintage = fetched["data_vintage"].take(pc.index_in(ids, value_set=fetched["msa_id"]))
        composite = composite.append_column(f"{pillar}_vintage", vintage)
    times["score (aker_core.scoring)"] = time.perf_counter() - mark

    mark = time.perf_counter()
    pq.write_table(composite, out / "composite.parquet", compression="none", use_dictionary=False)
    times["write composite"] = time.perf_counter() - mark

    def variant() -> None:
        mark = time.perf_counter()
        if postgres:
            _postgres_load(postgres, schema + "_nofk", composite, foreign_key=False)
        else:
            _sqlite_load(out / "floor-nofk.db", composite, foreign_key=False)
        times["variant: database load, FK checked once"] = time.perf_counter() - mark

    # Alternate which load goes first (by round), so neither always profits from a warm database.
    if variant_first:
        variant()
    mark = time.perf_counter()
    if postgres:
        _postgres_load(postgres, schema, composite, foreign_key=True)
    else:
        _sqlite_load(out / "floor.db", composite, foreign_key=True)
    times["database load (FK per row)"] = time.perf_counter() - mark

    mark = time.perf_counter()
    _export(composite, out / "scores.parquet")
    times["export"] = time.perf_counter() - mark
    times["total in process"] = time.perf_counter() - _T0 - times.get("variant: database load, FK checked once", 0.0)
    if not variant_first:
        variant()
    return times


# --- the driver: fresh processes, timed -------------------------------------------------------


def _fresh_databases(out: Path, postgres: str | None, schema: str) -> None:
    """Empty schemas for both loads (with and without the foreign key), before timing."""
    if postgres:
        import psycopg

        with psycopg.connect(postgres, autocommit=True) as pg:
            for name, fk in ((schema, True), (schema + "_nofk", False)):
                pg.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
                pg.execute(f'CREATE SCHEMA "{name}"')
                pg.execute(f'SET search_path = "{name}"')
                for statement in _ddl(fk, "SERIAL PRIMARY KEY"):
                    pg.execute(statement)
        return
    import sqlite3

    for name, fk in (("floor.db", True), ("floor-nofk.db", False)):
        for suffix in ("", "-wal", "-shm"):
            (out / f"{name}{suffix}").unlink(missing_ok=True)
        conn = sqlite3.connect(out / name)
        conn.execute("PRAGMA journal_mode=WAL")  # aker's engine settings
        conn.execute("PRAGMA synchronous=NORMAL")
        for statement in _ddl(fk, "INTEGER NOT NULL PRIMARY KEY"):
            conn.execute(statement)
        conn.commit()
        conn.close()


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds from fork to exit, peak RSS MiB, stdout) of ``cmd``; see bench_pipeline._run."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return wall, usage.ru_maxrss / 1024, text


def _psycopg_dsn(dsn: str) -> str:
    return dsn.replace("postgresql+psycopg://", "postgresql://", 1)


def main() -> int:
    """Write the shape (or use --source), time --repeat fresh child processes, print the stages."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markets", type=int, default=100_000)
    parser.add_argument("--order", choices=("sorted", "vintage-major", "shuffled"), default="sorted")
    parser.add_argument("--vintages", type=int, default=2)
    parser.add_argument("--row-group-rows", type=int)
    parser.add_argument("--source-format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--postgres", metavar="DSN", help="load into this PostgreSQL database (fresh schemas)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--source", type=Path, help="use this source directory instead of generating one")
    parser.add_argument("--latest", choices=("numpy", "groupby"), default="numpy", help="see the docstring")
    parser.add_argument("--keep", type=Path, help="copy the composite and export files here (to compare them)")
    parser.add_argument("--child", nargs=2, metavar=("SOURCE", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", type=Path, metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("--variant-first", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global LATEST
    LATEST = args.latest
    schema = "aker_floor"
    postgres = _psycopg_dsn(args.postgres) if args.postgres else None
    if args.child:
        print(json.dumps(child(Path(args.child[0]), Path(args.child[1]), postgres, schema, args.variant_first)))
        return 0
    if args.prepare:
        _fresh_databases(args.prepare, postgres, schema)
        return 0
    with tempfile.TemporaryDirectory(prefix="aker-floor-") as tmp:
        out = Path(tmp)
        source = args.source
        if source is None:
            source = out / "src"
            cmd = [sys.executable, str(Path(__file__).with_name("shapes.py")), "--markets", str(args.markets)]
            cmd += ["--out", str(source), "--vintages", str(args.vintages), "--order", args.order]
            cmd += ["--source-format", args.source_format, "--seed", "1"]
            if args.row_group_rows:
                cmd += ["--row-group-rows", str(args.row_group_rows)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        bare = min(_timed([sys.executable, "-c", "pass"])[0] for _ in range(5))
        stages: dict[str, list[float]] = {}
        peak = 0.0
        database = ["--postgres", args.postgres] if args.postgres else []
        for round_ in range(args.repeat):
            # In a child too: a forked child's peak RSS starts at its parent's size, so this
            # driver imports neither pyarrow nor a database driver.
            subprocess.run([sys.executable, __file__, "--prepare", str(out), *database], check=True)
            order = ["--variant-first"] if round_ % 2 else []
            cmd = [sys.executable, __file__, "--child", str(source), str(out), "--latest", args.latest]
            wall, rss, text = _timed([*cmd, *database, *order])
            times = json.loads(text)
            # The variant's load is no part of the cold run's work.
            times["whole process (fork to exit)"] = wall - times["variant: database load, FK checked once"]
            for stage, seconds in times.items():
                stages.setdefault(stage, []).append(seconds)
            peak = max(peak, rss)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for name in ("composite.parquet", "scores.parquet"):
                shutil.copy(out / name, args.keep / name)
    backend = "postgresql" if args.postgres else "sqlite"
    label = "--source" if args.source else f"{args.markets} markets, {args.order}, {args.vintages} vintages"
    groups = f"{args.row_group_rows}-row row groups" if args.row_group_rows else "one row group"
    layout = args.source_format if args.source_format == "csv" else f"parquet, {groups}"
    print(f"floor: {label}, {layout}, {backend}, {args.repeat} fresh processes")
    print(f"{'stage':<42} {'best s':>7} {'median s':>9}")
    print(f"{'interpreter start-up alone (python -c pass)':<42} {bare:7.3f}")
    variant = "variant: database load, FK checked once"
    for stage, seconds in sorted(stages.items(), key=lambda item: item[0] == variant):
        print(f"{stage:<42} {min(seconds):7.3f} {statistics.median(seconds):9.3f}")
    print(f"{'peak RSS MiB':<42} {peak:7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
