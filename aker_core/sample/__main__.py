"""``python -m aker_core.sample``: generate synthetic datasets, or load a source dir into the database."""

from __future__ import annotations

import argparse
import sys
import time

from aker_core.exceptions import AkerError
from aker_data.exceptions import DataError


def _generate(argv: list[str]) -> int:
    from aker_core.sample.generator import generate, write_datasets

    parser = argparse.ArgumentParser(prog="python -m aker_core.sample", description="Generate synthetic sources.")
    parser.add_argument("--markets", type=int, required=True, help="number of markets")
    parser.add_argument("--vintages", type=int, default=2, help="vintages per market (quarter ends)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="RNG seed (same seed, same files)")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    paths = write_datasets(generate(args.markets, args.vintages, args.seed), args.out, args.format)
    print(f"wrote {len(paths)} datasets to {args.out} in {time.perf_counter() - start:.2f}s")
    return 0


def _load(argv: list[str]) -> int:
    from aker_core.config import Settings
    from aker_core.sample.loader import load_source_dir
    from aker_data.engine import database_engine
    from aker_data.migrate import ensure_schema

    parser = argparse.ArgumentParser(
        prog="python -m aker_core.sample load", description="Upsert a source dir into the configured database."
    )
    parser.add_argument("--source", default="sample", help="'sample' (default), a directory or file:// URL")
    args = parser.parse_args(argv)
    engine = database_engine(settings=Settings())
    try:
        # As the pipeline does: the embedded SQLite file is aker's to migrate; a shared
        # PostgreSQL must be migrated explicitly (SchemaOutOfDateError says how).
        ensure_schema(engine, auto_upgrade=engine.url.get_backend_name() == "sqlite")
        with engine.begin() as conn:
            counts = load_source_dir(conn, args.source)
    finally:
        engine.dispose()
    print(", ".join(f"{name}={rows}" for name, rows in counts.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "load":
            return _load(args[1:])
        if args and args[0] == "generate":
            args = args[1:]
        return _generate(args)
    except (AkerError, DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
