"""Source data shaped as users have it: the generator's content in other row orders, row groups and formats.

    python benchmarks/shapes.py --markets 100000 --out DIR [--vintages 2] [--order vintage-major]
        [--row-group-rows 10000] [--source-format parquet|csv] [--seed 1] [--datasets market_jobs ...]

Every shape holds the *same content* (the rows of :func:`aker_core.sample.generate` for the
markets, vintages and seed); only the order of the rows, the parquet row groups and the file
format differ, so a pipeline must score every shape identically:

* ``sorted``: the generator's order, ``msa_id`` then vintage;
* ``vintage-major``: each vintage's rows after the previous vintage's, as such files grow when
  each quarter is appended (within a vintage by ``msa_id``);
* ``shuffled``: a seeded random permutation of the rows (``markets`` too).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow and the generator are imported where used: the benchmark harnesses import this module
# for Shape alone and must stay small, because a forked child's peak RSS starts at the size of
# its parent (see bench_pipeline._run).

__all__ = ["FORMATS", "ORDERS", "Shape", "shape_table", "write_shape"]

Order = Literal["sorted", "vintage-major", "shuffled"]
Format = Literal["parquet", "csv"]
#: Row orders, in the order tables list them.
ORDERS: tuple[Order, ...] = ("sorted", "vintage-major", "shuffled")
FORMATS: tuple[Format, ...] = ("parquet", "csv")


@dataclass(frozen=True)
class Shape:
    """How a source directory is laid out (its content is fixed by markets, vintages and seed)."""

    markets: int
    vintages: int = 2
    order: Order = "sorted"
    #: Rows per parquet row group; ``None``: one row group per file.
    row_group_rows: int | None = None
    source_format: Format = "parquet"

    def label(self) -> str:
        """``100k sorted 2v 1rg parquet``-style short description."""
        groups = "1 rg" if self.row_group_rows is None else f"rg {_short(self.row_group_rows)}"
        groups = "-" if self.source_format == "csv" else groups
        return f"{_short(self.markets)} {self.order} {self.vintages}v {groups} {self.source_format}"


def _short(n: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def shape_table(table: pa.Table, order: Order, seed: int) -> pa.Table:
    """``table`` (in the generator's ``msa_id``-then-vintage order) with its rows in ``order``.

    The permutation comes from pyarrow's ``sort_indices`` (vintage-major) or a seeded numpy
    permutation (shuffled), applied with one ``take``; the content is unchanged.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if order == "sorted":
        return table
    if order == "vintage-major":
        if "data_vintage" not in table.column_names:
            return table  # markets has no vintages: one row per market, by msa_id
        indices = pc.sort_indices(table, sort_keys=[("data_vintage", "ascending"), ("msa_id", "ascending")])
    elif order == "shuffled":
        indices = pa.array(np.random.default_rng(seed).permutation(table.num_rows))
    else:
        raise ValueError(f"unknown order {order!r}; expected one of {', '.join(ORDERS)}")
    return table.take(indices)


def write_shape(shape: Shape, out: Path, seed: int, datasets: tuple[str, ...] | None = None) -> list[Path]:
    """Generate the content for ``seed``, lay it out as ``shape`` and write ``datasets`` into ``out``.

    Parquet is written as the generator writes it (dictionary-encoded ids and names only), with
    ``shape.row_group_rows`` rows per row group; CSV by Arrow's writer. ``datasets``: default all five.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from aker_core.sample.generator import generate
    from aker_core.sources.location import DATASETS

    out.mkdir(parents=True, exist_ok=True)
    tables = generate(shape.markets, shape.vintages, seed)
    written = []
    for name in datasets or DATASETS:
        table = shape_table(tables.pop(name), shape.order, seed)
        path = out / f"{name}.{shape.source_format}"
        other = out / f"{name}.{'csv' if shape.source_format == 'parquet' else 'parquet'}"
        other.unlink(missing_ok=True)  # both present would make the source ambiguous
        if shape.source_format == "parquet":
            rows = shape.row_group_rows or max(table.num_rows, 1)
            pq.write_table(table, path, use_dictionary=["msa_id", "name"], row_group_size=rows)
        else:
            pacsv.write_csv(table, path)
        written.append(path)
    return written


def main() -> int:
    """Write one shaped source directory."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markets", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--vintages", type=int, default=2)
    parser.add_argument("--order", choices=ORDERS, default="sorted")
    parser.add_argument("--row-group-rows", type=int, default=None, help="rows per parquet row group (default: one)")
    parser.add_argument("--source-format", choices=FORMATS, default="parquet")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--datasets", nargs="+", help="only these datasets (default: all five)")
    args = parser.parse_args()
    shape = Shape(args.markets, args.vintages, args.order, args.row_group_rows, args.source_format)
    start = time.perf_counter()
    paths = write_shape(shape, args.out, args.seed, tuple(args.datasets) if args.datasets else None)
    print(f"wrote {len(paths)} datasets ({shape.label()}) to {args.out} in {time.perf_counter() - start:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
