"""The pipeline benchmark over a matrix of data shapes, as one markdown table with the issue's targets.

    python benchmarks/bench_matrix.py [--repeat 3] [--postgres DSN] [--only KEY=VALUE[,KEY=VALUE]] ...
        [--markets N] [--workers 2] [--list]

Each row of the matrix is a data shape (:mod:`shapes`: markets, row order, vintages, parquet row
groups, source format) on a backend, timed by :func:`bench_pipeline.bench` for its workloads
(cold, cached, cached ExportScores, one source changed): whole `luigi` processes, best and
median of --repeat rounds, largest peak RSS. The default matrix fits ~15 minutes on 2 cores:

* 100k markets x {sorted, vintage-major, shuffled}, parquet in one row group, 2 vintages;
* 100k vintage-major as parquet with 10k-row row groups, and as CSV;
* 100k vintage-major with 8 and 20 vintages;
* 1M x {sorted, vintage-major}: cold, cached and cached ExportScores;
* 10k sorted;
* with --postgres: 100k and 1M vintage-major on PostgreSQL (a fresh schema per round).

``--only`` keeps the rows (and workloads) matching every KEY=VALUE of one of its arguments; keys:
markets (10k, 100k, 1M or a number), order, vintages, rowgroups (1, 10k ...), format, backend,
workload (cold, cached, export, changed). ``--markets N`` runs every row at N markets instead
(the same shape at several sizes collapses into one row), e.g. a quick proof that the tools work:
``--markets 10000 --repeat 1``.

After the table, the scores each shape published and exported (its first cold run) are compared
with those of the other shapes of the same content (markets, vintages, backend): they must be
identical, whatever the row order, row groups or format.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from bench_pipeline import WORKLOADS, Result, bench
from harness import run_helper
from shapes import ORDERS, Shape

#: Short names ``--only workload=`` accepts, besides the full ones.
WORKLOAD_ALIASES = {"export": "cached ExportScores", "changed": "one source changed"}
COLD_CACHED = ("cold", "cached", "cached ExportScores")


@dataclass(frozen=True)
class Row:
    """One data shape on one backend, and the workloads timed on it."""

    shape: Shape
    backend: str = "sqlite"
    workloads: tuple[str, ...] = WORKLOADS


def default_matrix(postgres: bool) -> list[Row]:
    """The matrix of the module docstring."""
    k100, m1 = 100_000, 1_000_000
    rows = [Row(Shape(k100, order=order)) for order in ORDERS]
    rows.append(Row(Shape(k100, order="vintage-major", row_group_rows=10_000)))
    rows.append(Row(Shape(k100, order="vintage-major", source_format="csv")))
    rows += [Row(Shape(k100, vintages=v, order="vintage-major")) for v in (8, 20)]
    rows += [Row(Shape(m1, order=order), workloads=COLD_CACHED) for order in ("sorted", "vintage-major")]
    rows.append(Row(Shape(10_000)))
    if postgres:
        rows.append(Row(Shape(k100, order="vintage-major"), backend="postgresql"))
        rows.append(Row(Shape(m1, order="vintage-major"), backend="postgresql", workloads=COLD_CACHED))
    return rows


def _count(text: str) -> int:
    text = text.lower().replace("_", "")
    for suffix, factor in (("m", 1_000_000), ("k", 1_000)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(text)


def _matches(row: Row, key: str, value: str) -> bool:
    shape = row.shape
    if key == "markets":
        return shape.markets == _count(value)
    if key == "order":
        return shape.order == value
    if key == "vintages":
        return shape.vintages == int(value)
    if key == "rowgroups":
        return shape.source_format == "parquet" and (
            shape.row_group_rows is None if value == "1" else shape.row_group_rows == _count(value)
        )
    if key == "format":
        return shape.source_format == value
    if key == "backend":
        return row.backend == value
    raise SystemExit(f"--only: unknown key {key!r} (markets, order, vintages, rowgroups, format, backend, workload)")


def select(rows: Iterable[Row], only: list[str]) -> list[Row]:
    """The rows (with their workloads cut) that match one of the ``--only`` filters; all without filters."""
    if not only:
        return list(rows)
    kept: dict[tuple[Shape, str], set[str]] = {}
    for row in rows:
        for spec in only:
            workloads = set(row.workloads)
            ok = True
            for item in spec.split(","):
                key, sep, value = item.partition("=")
                if not sep:
                    raise SystemExit(f"--only: {item!r} is not KEY=VALUE")
                if key == "workload":
                    workloads &= {WORKLOAD_ALIASES.get(value, value)}
                else:
                    ok = ok and _matches(row, key, value)
            if ok and workloads:
                kept.setdefault((row.shape, row.backend), set()).update(workloads)
    return [Row(shape, backend, tuple(w for w in WORKLOADS if w in ws)) for (shape, backend), ws in kept.items()]


def resize(rows: Iterable[Row], markets: int) -> list[Row]:
    """Every row at ``markets`` markets; rows that become the same shape are merged."""
    merged: dict[tuple[Shape, str], set[str]] = {}
    for row in rows:
        merged.setdefault((replace(row.shape, markets=markets), row.backend), set()).update(row.workloads)
    return [Row(shape, backend, tuple(w for w in WORKLOADS if w in ws)) for (shape, backend), ws in merged.items()]


def targets(row: Row, workload: str, results: dict[tuple[Shape, str], dict[str, Result]]) -> list[tuple[str, float]]:
    """The issue's (#14) targets for ``workload`` on ``row``: (label, limit), seconds or MiB."""
    shape, out = row.shape, []
    if workload == "cold" and shape.markets == 100_000 and shape.vintages == 2:
        out.append(("≤ 2.0 s", 2.0) if shape.source_format == "csv" else ("≤ 1.2 s", 1.2))
    if workload == "cold" and shape.markets == 1_000_000:
        out.append(("≤ 8 s", 8.0) if row.backend == "postgresql" else ("≤ 6 s", 6.0))
        out.append(("≤ 1 GiB", 1024.0))
    if workload == "cached ExportScores":
        out.append(("≤ 0.3 s", 0.3))
    if workload == "one source changed" and shape.markets <= 100_000:
        out.append(("≤ 1.0 s", 1.0))
    if workload == "cold" and shape.vintages > 2:
        base = results.get((replace(shape, vintages=2), row.backend), {}).get("cold")
        if base is not None:
            out.append((f"≤ 1.5 x 2 vintages ({1.5 * base.median:.2f} s)", 1.5 * base.median))
    return out


def _met(labelled: list[tuple[str, float]], result: Result) -> str:
    if not labelled:
        return ""
    met = all((result.rss if "GiB" in label else result.median) <= limit for label, limit in labelled)
    return "met" if met else "missed"


def main() -> int:
    """Run the selected matrix, print the table and the score comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", metavar="DSN", help="also run the PostgreSQL rows, in this database")
    parser.add_argument("--only", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]")
    parser.add_argument("--markets", type=_count, help="run every row at this many markets")
    parser.add_argument("--list", action="store_true", help="print the rows that would run, and stop")
    args = parser.parse_args()
    rows = select(default_matrix(bool(args.postgres)), args.only)
    if args.markets:
        rows = resize(rows, args.markets)
    if args.list or not rows:
        for row in rows:
            print(f"{row.shape.label()} {row.backend}: {', '.join(row.workloads)}")
        return 0 if rows else 1
    # 2-vintage rows first: the 8- and 20-vintage targets are relative to them.
    rows.sort(key=lambda r: (r.shape.vintages != 2,))
    results: dict[tuple[Shape, str], dict[str, Result]] = {}
    with tempfile.TemporaryDirectory(prefix="aker-matrix-") as tmp:
        kept: dict[tuple[Shape, str], Path] = {}
        for i, row in enumerate(rows):
            print(f"[{i + 1}/{len(rows)}] {row.shape.label()} {row.backend} ...", file=sys.stderr, flush=True)
            keep = Path(tmp) / f"row{i}"
            dsn = args.postgres if row.backend == "postgresql" else None
            found = bench(row.shape.markets, args.workers, args.repeat, dsn, row.shape, row.workloads, keep)
            results[(row.shape, row.backend)] = {r.workload: r for r in found}
            kept[(row.shape, row.backend)] = keep
        _print_table(rows, results, args)
        return _compare(kept)


def _print_table(
    rows: list[Row], results: dict[tuple[Shape, str], dict[str, Result]], args: argparse.Namespace
) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nWhole `luigi` processes, workers={args.workers}, best / median of {args.repeat}, "
        f"{os.cpu_count()} cores, load average {load}, {dt.date.today()}; met/missed on the median.\n"
    )
    print(
        "| markets | order | vintages | row groups | format | backend | workload | best s | median s "
        "| peak RSS MiB | target | |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        shape = row.shape
        groups = (
            "-"
            if shape.source_format == "csv"
            else ("1" if shape.row_group_rows is None else f"{shape.row_group_rows:,} rows each")
        )
        for workload in row.workloads:
            result = results[(shape, row.backend)][workload]
            labelled = targets(row, workload, results)
            print(
                f"| {shape.label().split()[0]} | {shape.order} | {shape.vintages} | {groups} | {shape.source_format} "
                f"| {row.backend} | {workload} | {result.best:.2f} | {result.median:.2f} | {result.rss:.0f} "
                f"| {'; '.join(label for label, _ in labelled)} | {_met(labelled, result)} |"
            )


def _compare(kept: dict[tuple[Shape, str], Path]) -> int:
    """Compare the saved scores of shapes with the same content; 1 if any differ."""
    groups: dict[tuple[int, int, str], list[Path]] = {}
    for (shape, backend), path in kept.items():
        groups.setdefault((shape.markets, shape.vintages, backend), []).append(path)
    status = 0
    print()
    for (markets, vintages, backend), paths in groups.items():
        if len(paths) < 2:
            continue
        try:
            verdict = run_helper("compare", *map(str, paths)).strip()
        except SystemExit as e:
            verdict, status = f"DIFFERENT: {e}", 1
        print(f"scores, {markets} markets x {vintages} vintages on {backend}, {len(paths)} shapes: {verdict}")
    return status


if __name__ == "__main__":
    sys.exit(main())
