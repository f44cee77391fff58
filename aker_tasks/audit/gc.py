"""``aker gc``: remove the targets, exports and retained sources no live result needs.

**Live** is what the latest publication of each (as_of, weights) -- the newest completed
``PublishScores`` run of each -- was computed from, transitively: its composite, the exports of
that composite, the pillars and the market names it was composed from, their fetch targets and
the retained bytes of the sources those read. The walk follows both the recorded lineage
(:class:`~aker_tasks.audit.lineage.LineageGraph`) and the targets' sidecars (their input hashes),
so it also holds after the database was lost and a rerun only republished. Everything modified
within the retention period (``--keep-days``, default ``AKER_GC_KEEP_DAYS`` = 30; never less
than :data:`MIN_AGE_SECONDS`) is kept as well, with what it was computed from.

**Running runs.** A pipeline may read any target of its as_of, and what it will read is not
recorded until it has read it; so while any run is ``running`` (after runs whose process is gone
were marked abandoned, :func:`aker_core.liveness.reconcile_abandoned`) gc removes nothing and
says which run it waits for. The floor of :data:`MIN_AGE_SECONDS` covers the moment between two
tasks of one pipeline, when no run is ``running`` but the next one is about to read what the
previous one wrote.

**Crash safety.** A target is removed sidecar first, then data: a target counts only with both
(:meth:`aker_tasks.targets.CacheTarget.exists`), so a gc killed between the two leaves a data file
without sidecar -- "not built", rebuilt when needed, removed by the next gc -- never a target that
looks whole and is not. A retained source is one file, removed by one ``unlink``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aker_core.exceptions import AkerError

if TYPE_CHECKING:
    from aker_tasks.audit.lineage import LineageGraph

__all__ = ["EXIT_REFUSED", "GcRefused", "GcResult", "Removal", "collect"]

#: Exit code: gc refused to remove anything (a run is running, or nothing is published).
EXIT_REFUSED = 1
EXIT_DATABASE = 3
#: Nothing younger than this is removed, whatever ``--keep-days`` says (see the module docstring).
MIN_AGE_SECONDS = 3600.0
SIDECAR = ".json"
DAY = 86400.0


class GcRefused(AkerError):
    """gc must not remove anything now (the message says why)."""


@dataclass(frozen=True)
class Removal:
    """One file gc removes (or, with ``dry_run``, would remove)."""

    kind: str  # "target", "export", "source" or "leftover"
    path: str
    bytes: int


@dataclass
class GcResult:
    """What gc removed (or would remove) and what it kept."""

    dry_run: bool
    keep_days: float
    publications: int
    removed: list[Removal] = field(default_factory=list)
    kept_files: int = 0

    @property
    def removed_bytes(self) -> int:
        """Bytes removed (or that would be)."""
        return sum(r.bytes for r in self.removed)

    def to_json(self) -> bytes:
        """As JSON (what ``--json`` prints)."""
        import orjson

        doc = {
            "dry_run": self.dry_run,
            "keep_days": self.keep_days,
            "publications": self.publications,
            "removed": self.removed,
            "removed_files": len(self.removed),
            "removed_bytes": self.removed_bytes,
            "kept_files": self.kept_files,
        }
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


@dataclass
class _Cache:
    """The files under ``<cache>/targets`` and ``<cache>/sources``, indexed by content hash."""

    sidecars: dict[Path, dict[str, Any]] = field(default_factory=dict)  # data file -> its sidecar
    by_hash: dict[str, list[Path]] = field(default_factory=dict)  # content hash -> data files
    leftovers: list[Path] = field(default_factory=list)  # data without sidecar, sidecar without data, temporaries
    sources: dict[Path, str] = field(default_factory=dict)  # retained copy -> its recorded hash

    @classmethod
    def scan(cls, cache: Path) -> _Cache:
        from aker_core.sources.retain import HASH_ALGORITHM, RETAINED_DIR
        from aker_tasks.targets import read_sidecar

        found = cls()
        targets = cache / "targets"
        files = [Path(p, f) for p, _, names in os.walk(targets) for f in names] if targets.is_dir() else []
        names = set(files)
        for path in files:
            if path.name.endswith(SIDECAR) and path.with_name(path.name[: -len(SIDECAR)]) in names:
                continue  # read with its data file
            sidecar = path.with_name(path.name + SIDECAR)
            if sidecar not in names:
                found.leftovers.append(path)  # a sidecar alone, data alone, or a temporary file
                continue
            try:
                doc = read_sidecar(sidecar)
                content = str(doc["content_hash"])
            except (AkerError, KeyError, OSError):
                found.leftovers.append(path)
                continue
            found.sidecars[path] = doc
            found.by_hash.setdefault(content, []).append(path)
        kept = cache / RETAINED_DIR
        for folder, _, names_ in os.walk(kept) if kept.is_dir() else ():
            for name in names_:
                path = Path(folder, name)
                digest = path.name.split(".", 1)[0]
                if name.startswith("."):
                    found.leftovers.append(path)  # a copy interrupted before its rename
                else:
                    found.sources[path] = f"{HASH_ALGORITHM}:{digest}"
        return found


def _sidecar_inputs(doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(input target hashes, source hashes) a sidecar records."""
    targets = [str(h) for h in (doc.get("inputs") or {}).values() if isinstance(h, str)]
    source = doc.get("source") or {}
    hashes = [str(source["content_hash"])] if isinstance(source, dict) and source.get("content_hash") else []
    return targets, hashes


class _Live:
    """The content hashes of live targets and live sources, grown by :meth:`mark`."""

    def __init__(self, graph: LineageGraph, cache: _Cache) -> None:
        self.graph = graph
        self.cache = cache
        self.targets: set[str] = set()
        self.sources: set[str] = set()

    def mark(self, roots: Iterable[str]) -> None:
        pending = [h for h in roots if h]
        while pending:
            content = pending.pop()
            if content in self.targets:
                continue
            self.targets.add(content)
            for run in self.graph.writers(content):
                for edge in self.graph.inputs(run.run_id):
                    if edge.hash and edge.source.startswith("target:"):
                        pending.append(edge.hash)
                    elif edge.hash and edge.source == "file":
                        self.sources.add(edge.hash)
            for path in self.cache.by_hash.get(content, []):
                inputs, sources = _sidecar_inputs(self.cache.sidecars[path])
                pending.extend(inputs)
                self.sources.update(sources)


def _weights_key(params: dict[str, Any]) -> str:
    import orjson

    try:
        weights = orjson.loads(params.get("weights") or "{}")
    except orjson.JSONDecodeError:
        return str(params.get("weights"))
    return ",".join(f"{k}={float(v):.12g}" for k, v in sorted(weights.items()))


def _publication_roots(graph: LineageGraph) -> tuple[int, list[str]]:
    """(how many latest publications, their composites' hashes)."""
    import datetime as dt

    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    latest: dict[tuple[str | None, str], Any] = {}
    for run in graph.runs_of("PublishScores"):
        key = (run.as_of, _weights_key(run.task_params))
        held = latest.get(key)
        if held is None or (run.finished_at or never, run.run_id) > (held.finished_at or never, held.run_id):
            latest[key] = run
    roots = []
    for run in latest.values():
        edge = graph.input_named(run.run_id, "target:0")
        if edge is not None and edge.hash:
            roots.append(edge.hash)
    return len(latest), roots


def _running(session_factory: Any, abandoned_after: float) -> list[str]:
    """Descriptions of the runs still running once abandoned ones are marked failed."""
    from sqlalchemy import select

    from aker_core.liveness import reconcile_abandoned
    from aker_data.models import Run

    reconcile_abandoned(session_factory, abandoned_after=abandoned_after)
    with session_factory() as session:
        runs = session.scalars(select(Run).where(Run.status == "running").order_by(Run.started_at)).all()
        return [
            f"{r.task_family} {(r.task_params or {}).get('as_of', '')} (run {r.run_id}, pid {r.pid} on {r.host})"
            for r in runs
        ]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _young(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime >= cutoff
    except OSError:
        return True  # vanished or unreadable: not ours to judge


def collect(*, dry_run: bool = False, keep_days: float | None = None, now: float | None = None) -> GcResult:
    """Remove (or with ``dry_run`` list) what no live result needs; see the module docstring.

    Args:
        dry_run: list, remove nothing.
        keep_days: the retention period; default ``AKER_GC_KEEP_DAYS``.
        now: the current time (seconds since the epoch), for tests.

    Raises:
        GcRefused: a run is running, or the database records no publication at all (gc would
            remove every result: probably the wrong database).
        DatabaseConnectionError: the run database cannot answer.
    """
    from sqlalchemy.orm import Session, sessionmaker

    from aker_core.config import get_settings
    from aker_core.redact import mask_dsn
    from aker_data.engine import database_engine
    from aker_tasks.audit.lineage import LineageGraph

    settings = get_settings()
    days = settings.gc_keep_days if keep_days is None else float(keep_days)
    now = time.time() if now is None else now
    cutoff = now - max(days * DAY, MIN_AGE_SECONDS)
    factory = sessionmaker(bind=database_engine())
    running = _running(factory, settings.run_abandoned_after)
    if running:
        more = f" and {len(running) - 1} more" if len(running) > 1 else ""
        raise GcRefused(
            f"{len(running)} run(s) are running ({running[0]}{more}); nothing removed -- run gc when they have finished"
        )
    with Session(factory.kw["bind"]) as session:
        graph = LineageGraph.load(session)
    publications, roots = _publication_roots(graph)
    if not publications:
        raise GcRefused(
            f"database {mask_dsn(settings.database_url)} records no publication, so every result would go; "
            "nothing removed (is AKER_POSTGIS_DSN the database of this cache?)"
        )
    cache = _Cache.scan(settings.cache_path)
    live = _Live(graph, cache)
    young = [p for p in cache.sidecars if _young(p, cutoff)]
    live.mark([*roots, *(str(cache.sidecars[p]["content_hash"]) for p in young)])
    # An export is live when the composite it shows is (its sidecar names it as input "scores").
    exports = [p for p, doc in cache.sidecars.items() if (doc.get("inputs") or {}).get("scores") in live.targets]
    live.mark(str(cache.sidecars[p]["content_hash"]) for p in exports)
    live.sources.update(h for p, h in cache.sources.items() if _young(p, cutoff))

    result = GcResult(dry_run=dry_run, keep_days=days, publications=publications)
    for path, doc in sorted(cache.sidecars.items()):
        if str(doc["content_hash"]) in live.targets:
            result.kept_files += 2
            continue
        kind = "export" if path.parts[-3:-2] == ("ExportScores",) else "target"
        sidecar = path.with_name(path.name + SIDECAR)
        result.removed.append(Removal(kind, str(path), _size(path) + _size(sidecar)))
        if not dry_run:
            sidecar.unlink(missing_ok=True)  # first: without it the data is "not built", never half-valid
            path.unlink(missing_ok=True)
    for path, recorded in sorted(cache.sources.items()):
        if recorded in live.sources:
            result.kept_files += 1
            continue
        result.removed.append(Removal("source", str(path), _size(path)))
        if not dry_run:
            path.unlink(missing_ok=True)
    for path in sorted(cache.leftovers):
        if _young(path, cutoff):
            result.kept_files += 1
            continue
        result.removed.append(Removal("leftover", str(path), _size(path)))
        if not dry_run:
            path.unlink(missing_ok=True)
    if not dry_run:
        _remove_empty_dirs(settings.cache_path)
    return result


def _remove_empty_dirs(cache: Path) -> None:
    for top in (cache / "targets", cache / "sources"):
        for folder, _, _ in sorted(os.walk(top), key=lambda item: -len(item[0])) if top.is_dir() else ():
            if Path(folder) != top:
                with contextlib.suppress(OSError):  # not empty (or a writer just used it)
                    os.rmdir(folder)


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def add_parser(sub: Any) -> None:
    """Register ``aker gc`` on the ``aker`` subparsers."""
    parser = sub.add_parser("gc", help="remove targets, exports and retained sources no live result needs")
    parser.add_argument("--dry-run", action="store_true", help="list what would go, remove nothing")
    parser.add_argument(
        "--keep-days", type=float, metavar="N", help="keep everything younger (default AKER_GC_KEEP_DAYS)"
    )
    parser.add_argument("--json", action="store_true", help="as JSON")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Run ``aker gc`` (see the README); returns the exit code."""
    from sqlalchemy.exc import SQLAlchemyError

    from aker_core.config import get_settings
    from aker_tasks.audit.lineage import database_problem

    if args.keep_days is not None and not args.keep_days >= 0:
        print("aker gc: --keep-days: must be a number of days >= 0", file=sys.stderr)
        return 2
    try:
        result = collect(dry_run=args.dry_run, keep_days=args.keep_days)
    except GcRefused as e:
        print(f"aker gc: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except SQLAlchemyError as e:
        print(f"aker gc: {database_problem(e, get_settings().database_url)}", file=sys.stderr)
        return EXIT_DATABASE
    if args.json:
        sys.stdout.write(result.to_json().decode() + "\n")
        return 0
    verb = "would remove" if result.dry_run else "removed"
    for r in result.removed:
        print(f"{verb:<12} {r.kind:<8} {_human(r.bytes):>9}  {r.path}")
    outcome = "would be removed" if result.dry_run else "removed"
    print(
        f"{len(result.removed)} file(s), {_human(result.removed_bytes)} {outcome}; "
        f"kept {result.kept_files} file(s): what the latest publication of each as_of and weights needs "
        f"({result.publications}), and everything younger than {result.keep_days:g} days"
    )
    return 0
