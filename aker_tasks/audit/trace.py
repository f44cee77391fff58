"""``aker trace``: from one published score back to the source rows it was computed from.

The walk follows the recorded lineage (:class:`~aker_tasks.audit.lineage.LineageGraph`): the
``pillar_scores`` row names the publishing run; its input is the composite, whose producing run
read the four pillars and the market names; each pillar's run read a fetch target, whose run
read the source file (path, content hash, time). The ``data_vintage`` row shown per pillar is
read from the source's *retained bytes* (:mod:`aker_core.sources.retain`) -- verified against the
recorded hash -- with the fetch's own reader and point-in-time rule
(:func:`aker_core.sources.reader.read_dataset_as_of`), so it is the row the fetch kept, even after
the source file was edited or deleted. :func:`restore_sources` writes those bytes back under the
file names a source directory has, to reproduce the run with ``AKER_SOURCE_URI=DIR``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from aker_core.exceptions import AkerError

if TYPE_CHECKING:
    from aker_tasks.audit.lineage import Edge, LineageGraph, RunRef

__all__ = [
    "EXIT_NOT_PUBLISHED",
    "EXIT_RESTORE",
    "DatasetTrace",
    "PillarTrace",
    "RestoreError",
    "SourceRef",
    "Step",
    "Trace",
    "TraceError",
    "restore_sources",
    "trace",
]

#: Exit code: nothing published for that as_of / market / weights.
EXIT_NOT_PUBLISHED = 1
#: Exit code: ``--restore`` cannot write the exact source bytes (not retained, or DIR holds others).
EXIT_RESTORE = 5
EXIT_USAGE = 2
EXIT_DATABASE = 3


class TraceError(AkerError):
    """There is no published score to trace (unknown market, unpublished date, other weights)."""


class RestoreError(AkerError):
    """The sources of a run cannot be restored byte for byte."""


@dataclass(frozen=True)
class Step:
    """A task's run and the target it wrote (its path and content hash as recorded)."""

    run: RunRef | None
    path: str | None
    content_hash: str | None
    #: Whether that target is still in the cache, whole (its bytes hash to its sidecar).
    target_exists: bool


@dataclass(frozen=True)
class SourceRef:
    """The source a fetch read, and where its exact bytes are now."""

    dataset: str
    kind: str  # "file" or "database"
    location: str | None
    path: str | None
    content_hash: str | None
    fetched_at: dt.datetime | None
    rows_read: int | None
    #: The retained copy (``<cache>/sources/...``) when it exists and its bytes match the hash.
    retained: str | None
    #: Where the exact bytes are now: the retained copy, else the source file if unchanged, else None.
    bytes_at: str | None


@dataclass(frozen=True)
class DatasetTrace:
    """One fetched dataset: the fetch, its source, and the row that was used for the market."""

    fetch: Step
    source: SourceRef | None
    #: The market's row as the fetch kept it (latest ``data_vintage`` <= as_of); None if unknown.
    row: dict[str, Any] | None
    #: Why ``row`` is None (no bytes, or no row for the market), else None.
    note: str | None


@dataclass(frozen=True)
class PillarTrace:
    """One pillar of the score: its value, the pillar run and target, and the data behind it."""

    pillar: str
    score_0_5: float | None
    step: Step
    data: DatasetTrace | None


@dataclass(frozen=True)
class Trace:
    """A published score and everything it was computed from."""

    as_of: dt.date
    msa_id: str
    name: str | None
    publication: RunRef
    publication_id: str | None
    weights: dict[str, float]
    weighted_0_5: float | None
    weighted_0_100: float | None
    missing_pillars: str | None
    composite: Step
    markets: DatasetTrace | None
    pillars: list[PillarTrace]

    def datasets(self) -> list[DatasetTrace]:
        """The five fetched datasets (markets first)."""
        found = [self.markets] + [p.data for p in self.pillars]
        return [d for d in found if d is not None]

    def to_json(self) -> bytes:
        """The whole tree as indented JSON (what ``--json`` prints)."""
        import orjson

        return orjson.dumps(self, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)


# --- the walk -------------------------------------------------------------------------------
def _file_of(url: str | None) -> str | None:
    if not url or not url.startswith("file:"):
        return None
    return unquote(urlparse(url).path)


def _target_step(graph: LineageGraph, edge: Edge | None, family: str, as_of: str) -> Step:
    from aker_tasks.targets import CacheTarget

    if edge is None or not edge.hash:
        return Step(None, None, None, False)
    path = edge.path or _file_of(edge.url)
    exists = bool(path) and CacheTarget(Path(str(path))).exists()
    return Step(graph.producer(family, edge.hash, as_of), path, edge.hash, exists)


def _bytes_at(cache: Path, source: Edge) -> tuple[str | None, str | None]:
    """(retained copy, where the exact bytes are now) of a source file edge."""
    from aker_core.sources.retain import find_retained, verify_retained
    from aker_tasks.hashing import file_hash

    if not source.hash or source.source != "file":
        return None, None
    try:
        retained = find_retained(cache, source.hash)
    except AkerError:  # a hash aker did not write
        return None, None
    if retained is not None and verify_retained(retained, source.hash):
        return str(retained), str(retained)
    original = _file_of(source.url)
    try:
        if original and file_hash(original) == source.hash:
            return None, original
    except OSError:
        pass
    return None, None


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _market_row(dataset: str, path: str, as_of: dt.date, msa_id: str) -> dict[str, Any] | None:
    """The market's row as the fetch keeps it: the fetch's own reader and point-in-time rule."""
    import pyarrow.compute as pc

    from aker_core.sources.reader import read_dataset_as_of

    table = read_dataset_as_of(dataset, path, as_of).table
    hit = table.filter(pc.equal(table["msa_id"], msa_id))
    return {k: _plain(v) for k, v in hit.to_pylist()[0].items()} if hit.num_rows else None


def _dataset(graph: LineageGraph, cache: Path, edge: Edge | None, as_of: dt.date, msa_id: str) -> DatasetTrace | None:
    if edge is None:
        return None
    fetch = _target_step(graph, edge, "FetchSource", as_of.isoformat())
    if fetch.run is None:
        return DatasetTrace(fetch, None, None, "the fetch that wrote this target is not recorded")
    src = next((e for e in graph.inputs(fetch.run.run_id) if e.source in ("file", "database")), None)
    if src is None:
        return DatasetTrace(fetch, None, None, "the fetch recorded no source")
    dataset = str(fetch.run.task_params.get("dataset", src.table))
    retained, bytes_at = _bytes_at(cache, src)
    source = SourceRef(
        dataset=dataset,
        kind=src.source,
        location=src.url,
        path=_file_of(src.url),
        content_hash=src.hash,
        fetched_at=src.fetched_at,
        rows_read=src.rows,
        retained=retained,
        bytes_at=bytes_at,
    )
    if bytes_at is None:
        why = (
            "a database source: its rows are not retained"
            if src.source == "database"
            else "the source bytes were not retained and the source file has changed"
        )
        return DatasetTrace(fetch, source, None, why)
    try:
        row = _market_row(dataset, bytes_at, as_of, msa_id)
    except AkerError as e:  # e.g. validation rules tightened since: say so, trace the rest
        return DatasetTrace(fetch, source, None, f"the kept bytes cannot be read today: {e}")
    note = None if row is not None else f"{dataset} has no row of {msa_id} with data_vintage <= {as_of}"
    return DatasetTrace(fetch, source, row, note)


def _same_weights(a: dict[str, Any], b: dict[str, float]) -> bool:
    return set(a) == set(b) and all(math.isclose(float(a[k]), b[k], rel_tol=1e-9, abs_tol=1e-12) for k in b)


def trace(as_of: object, msa_id: str, weights: dict[str, Any] | None = None) -> Trace:
    """Trace the published score of market ``msa_id`` as of ``as_of`` back to its source rows.

    Args:
        as_of: the score date (anything :func:`aker_core.dates.parse_as_of` accepts).
        msa_id: the market.
        weights: the weights the caller expects the publication to have (normalised before
            comparing); ``None`` accepts the published ones.

    Raises:
        TraceError: nothing is published for the date, the market is not among the published
            ones, or the date is published with other weights.
        ScoringError: bad ``as_of`` or ``weights``.
        DatabaseConnectionError: the run database cannot answer.
    """
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from aker_core.config import PILLARS, get_settings
    from aker_core.dates import parse_as_of
    from aker_data.engine import database_engine
    from aker_data.models import PillarScore
    from aker_tasks.audit.lineage import LineageGraph
    from aker_tasks.identity import parse_weights

    day = parse_as_of(as_of)
    expected = parse_weights(weights) if weights is not None else None
    settings = get_settings()
    with Session(database_engine()) as session:
        row = session.scalars(
            select(PillarScore).where(PillarScore.score_as_of == day, PillarScore.msa_id == msa_id)
        ).one_or_none()
        if row is None:
            count = session.scalar(select(func.count()).where(PillarScore.score_as_of == day)) or 0
            if not count:
                raise TraceError(f"nothing is published for as_of {day}: run ScoreMarkets --as-of {day} first")
            raise TraceError(f"market {msa_id!r} is not among the {count} markets published for as_of {day}")
        published = {str(k): float(v) for k, v in (row.weights or {}).items()}
        if expected is not None and not _same_weights(published, expected):
            shown = ", ".join(f"{k} {v:.4g}" for k, v in published.items())
            raise TraceError(f"as_of {day} is published with other weights ({shown}); only that publication is current")
        graph = LineageGraph.load(session)
        scores = {p: getattr(row, f"{p}_0_5") for p in PILLARS}
        values = (row.run_id, row.weighted_0_5, row.weighted_0_100, row.missing_pillars)
    run_id, weighted_0_5, weighted_0_100, missing = values
    publication = graph.runs.get(run_id or "")
    if publication is None:
        raise TraceError(f"the scores of {day} name run {run_id}, which is not a completed run")
    key = day.isoformat()
    composite = _target_step(graph, graph.input_named(publication.run_id, "target:0"), "ComposeScores", key)
    compose_run = composite.run.run_id if composite.run else ""
    markets = _dataset(graph, settings.cache_path, graph.input_named(compose_run, "target:markets"), day, msa_id)
    pillars = []
    for pillar in PILLARS:
        step = _target_step(graph, graph.input_named(compose_run, f"target:{pillar}"), "ScorePillar", key)
        fetched = graph.input_named(step.run.run_id, "target:0") if step.run else None
        data = _dataset(graph, settings.cache_path, fetched, day, msa_id)
        pillars.append(PillarTrace(pillar, scores[pillar], step, data))
    name = markets.row.get("name") if markets and markets.row else None
    return Trace(
        as_of=day,
        msa_id=msa_id,
        name=name,
        publication=publication,
        publication_id=publication.output_hash,
        weights=published,
        weighted_0_5=weighted_0_5,
        weighted_0_100=weighted_0_100,
        missing_pillars=missing,
        composite=composite,
        markets=markets,
        pillars=pillars,
    )


# --- restoring the sources ------------------------------------------------------------------
def restore_sources(found: Trace, directory: Path) -> list[Path]:
    """Write the exact source bytes of ``found``'s publication into ``directory``.

    Each dataset gets the file name a source directory expects (``<dataset>.csv`` or
    ``.parquet``, as the original), copied from its retained bytes and verified, so
    ``AKER_SOURCE_URI=<directory>`` reproduces the run's scores (the same code and settings
    assumed). An existing file of the same name is kept when it holds the same bytes.

    Raises:
        RestoreError: a dataset's bytes are gone (not retained, source changed), it was read
            from the database, or ``directory`` holds a different file of that dataset.
    """
    from aker_core.sources.retain import verify_retained

    plan: list[tuple[Path, Path, str]] = []
    for data in found.datasets():
        src = data.source
        if src is None or src.bytes_at is None or src.content_hash is None:
            dataset = src.dataset if src else "a dataset"
            raise RestoreError(f"cannot restore {dataset}: {data.note or 'its source is not recorded'}")
        suffix = Path(src.path or src.bytes_at).suffix
        dest = directory / f"{src.dataset}{suffix}"
        for other in (".csv", ".parquet"):
            sibling = directory / f"{src.dataset}{other}"
            if other != suffix and os.path.lexists(sibling):
                raise RestoreError(f"cannot restore {src.dataset}: {sibling} exists (the dataset would be ambiguous)")
        if os.path.lexists(dest) and not verify_retained(dest, src.content_hash):
            raise RestoreError(
                f"cannot restore {src.dataset}: {dest} exists with other content; use an empty directory"
            )
        plan.append((Path(src.bytes_at), dest, src.content_hash))
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for origin, dest, recorded in plan:
        if not dest.exists():
            tmp = dest.with_name(f".{dest.name}.tmp-{uuid.uuid4().hex[:12]}")
            try:
                shutil.copyfile(origin, tmp)
                if not verify_retained(tmp, recorded):
                    raise RestoreError(f"cannot restore {dest.name}: {origin} changed while it was copied")
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
        written.append(dest)
    return written


# --- the command ----------------------------------------------------------------------------
def _run_text(run: RunRef | None) -> str:
    if run is None:
        return "(run not recorded)"
    when = run.finished_at.isoformat(timespec="seconds") if run.finished_at else "?"
    dirty = " (dirty)" if run.git_dirty else ""
    return f"run {run.run_id}  {run.task_family}, finished {when}, git {run.git_sha[:12]}{dirty}"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _line(label: str, text: str, indent: str = "  ") -> None:
    # Labels end at one column whatever the indent, so values line up.
    print(f"{indent}{label:<{11 - len(indent)}}{text}")


def _print_step(label: str, step: Step, indent: str = "  ") -> None:
    _line(label, _run_text(step.run), indent)
    gone = "" if step.target_exists else "  (no longer in the cache)"
    _line("", f"target {step.path}  {step.content_hash}{gone}", indent)


def _print_dataset(data: DatasetTrace | None) -> None:
    if data is None:
        _line("fetch", "(not recorded)")
        return
    _print_step("fetch", data.fetch)
    src = data.source
    if src is not None:
        when = src.fetched_at.isoformat(timespec="seconds") if src.fetched_at else "?"
        _line("source", f"{src.path or src.location}  {src.content_hash}  fetched {when}")
        if src.retained:
            _line("kept at", f"{src.retained}  (hash verified)")
        elif src.bytes_at:
            _line("kept at", f"{src.bytes_at}  (the source file, unchanged; not retained)")
        else:
            _line("kept at", f"nowhere: {data.note}")
    if data.row is not None:
        vintage = data.row.get("data_vintage")
        cells = ", ".join(f"{k}={v}" for k, v in data.row.items() if k not in ("msa_id", "data_vintage"))
        _line("row", f"{'data_vintage ' + str(vintage) + ': ' if vintage else ''}{cells}")
    elif data.note and src is not None and src.bytes_at:
        _line("row", data.note)


def print_trace(found: Trace) -> None:
    """The trace as readable text."""
    pub = found.publication
    missing = f"  missing pillars: {found.missing_pillars}" if found.missing_pillars else ""
    print(f"market {found.msa_id} {found.name or ''} as of {found.as_of}".rstrip())
    _line("score", f"{_fmt(found.weighted_0_100, 1)} / 100  ({_fmt(found.weighted_0_5, 3)} / 5){missing}", "")
    _line("published", _run_text(pub), "")
    _line("", f"publication {found.publication_id}, config {pub.config_hash}", "")
    _line("", f"weights {', '.join(f'{k} {v:.4g}' for k, v in found.weights.items())}", "")
    _print_step("composite", found.composite, "")
    print("names")
    _print_dataset(found.markets)
    for p in found.pillars:
        print(f"{p.pillar} {_fmt(p.score_0_5)} / 5")
        _print_step("pillar", p.step)
        _print_dataset(p.data)


def add_parser(sub: Any) -> None:
    """Register ``aker trace`` on the ``aker`` subparsers."""
    parser = sub.add_parser("trace", help="where a published score came from: runs, targets, sources, rows")
    parser.add_argument("--as-of", required=True, help="score date, YYYY-MM-DD or YYYY-MM")
    parser.add_argument("--market", required=True, metavar="MSA_ID", help="the market's msa_id")
    parser.add_argument("--weights", help="JSON weights the publication must have (default: whatever is published)")
    parser.add_argument("--json", action="store_true", help="the same tree as JSON")
    parser.add_argument("--restore", type=Path, metavar="DIR", help="write that run's exact sources into DIR")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Run ``aker trace`` (see the README); returns the exit code."""
    import orjson
    from sqlalchemy.exc import SQLAlchemyError

    from aker_core.config import get_settings
    from aker_core.exceptions import ConfigError, ScoringError
    from aker_tasks.audit.lineage import database_problem

    try:
        weights = orjson.loads(args.weights) if args.weights else None
        if weights is not None and not isinstance(weights, dict):
            raise ScoringError(f"expected a JSON object with the four pillars, got {args.weights!r}")
        found = trace(args.as_of, args.market, weights)
        restored = restore_sources(found, args.restore) if args.restore else None
    except orjson.JSONDecodeError as e:
        print(f"aker trace: --weights: not JSON ({e})", file=sys.stderr)
        return EXIT_USAGE
    except (ScoringError, ConfigError) as e:
        print(f"aker trace: {e}", file=sys.stderr)
        return EXIT_USAGE
    except TraceError as e:
        print(f"aker trace: {e}", file=sys.stderr)
        return EXIT_NOT_PUBLISHED
    except RestoreError as e:
        print(f"aker trace: --restore: {e}", file=sys.stderr)
        return EXIT_RESTORE
    except SQLAlchemyError as e:
        print(f"aker trace: {database_problem(e, get_settings().database_url)}", file=sys.stderr)
        return EXIT_DATABASE
    if args.json:
        sys.stdout.write(found.to_json().decode() + "\n")
    else:
        print_trace(found)
    if restored is not None:
        print(
            f"restored {len(restored)} source files into {args.restore}", file=sys.stderr if args.json else sys.stdout
        )
        if not args.json:
            weights = orjson.dumps(found.weights).decode()
            print(
                f"reproduce with: AKER_SOURCE_URI={args.restore.resolve()} luigi --module aker_tasks ScoreMarkets "
                f"--as-of {found.as_of} --weights '{weights}'"
            )
    return 0
