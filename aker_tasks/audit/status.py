"""``aker status``: which tasks of an as_of's graph are fresh, stale or missing, and why.

Without running or writing anything, every task ScoreMarkets would need is asked what a cached
run asks -- its key from the current sources, code, libraries and settings (the same
:meth:`~aker_tasks.base.AkerTask.key_parts` the tasks use) -- and a task whose target for that key
does not exist is compared with the target it would otherwise reuse (of the earlier targets of
the same task, see :mod:`aker_tasks.audit.previous`, the one whose key differs least):
:func:`~aker_tasks.cachekey.key_changes` names each key part that differs. The publication is
checked in the database read-only; an unreachable or lost database is reported, not raised.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aker_tasks.audit.previous import Previous, earlier_targets
from aker_tasks.audit.report import Cause, PublicationStatus, StatusReport, TaskState, TaskStatus
from aker_tasks.base import AkerTask
from aker_tasks.cachekey import KeyChange, KeyParts, key_changes

__all__ = ["graph_tasks", "status", "task_label"]


#: Tasks whose key input is the source's own content hash (named ``source``), not an upstream target.
SOURCE_READERS = ("SourceVintages", "FetchSource")


def task_label(task: AkerTask) -> str:
    """A short readable name: ``FetchSource(market_supply)``, ``ScorePillar(jobs)``, ``ExportScores(csv)``."""
    params = {k: v for k, v in task.to_str_params(only_significant=True).items() if k not in ("config", "weights")}
    params.pop("as_of", None)
    inner = ", ".join(params.values())
    return f"{task.get_task_family()}({inner})" if inner else task.get_task_family()


def graph_tasks(export: AkerTask) -> list[AkerTask]:
    """Every task ``export`` needs, each once, upstream first (as Luigi would run them)."""
    ordered: list[AkerTask] = []
    seen: set[str] = set()

    def visit(task: AkerTask) -> None:
        if task.task_id in seen:
            return
        seen.add(task.task_id)
        for dep in _upstream(task, publication=True).values():
            visit(dep)
        ordered.append(task)

    visit(export)
    # Luigi's order within a level is free: show fetches, then pillars, then the rest.
    rank = {
        "SourceVintages": 0,
        "FetchSource": 1,
        "ScorePillar": 2,
        "ComposeScores": 3,
        "PublishScores": 4,
        "ExportScores": 5,
    }
    return sorted(ordered, key=lambda t: rank.get(t.get_task_family(), 6))


def _module_file(module: str) -> str:
    """Where a module's source lives, relative to its top package (``aker_core/scoring/pillars.py``)."""
    spec = importlib.util.find_spec(module)
    relative = module.replace(".", "/")
    return f"{relative}/" if spec is not None and spec.submodule_search_locations else f"{relative}.py"


def _source_rows(path: Path) -> int | None:
    """Data rows of a source file now (CSV: non-blank lines after the header; parquet: its metadata)."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return int(pq.read_metadata(path).num_rows)
        with path.open("rb") as f:
            return max(sum(1 for line in f if line.strip()) - 1, 0)
    except Exception:  # only a detail of the report; the hash already says it changed
        return None


def _source_cause(task: AkerTask, change: KeyChange, previous: Mapping[str, Any]) -> Cause:
    """A fetch's source changed: the dataset, its location, old -> new hash and rows."""
    from aker_core.sources.location import DATABASE_SOURCE
    from aker_tasks.fetch import source_path

    dataset = str(getattr(task, "dataset", ""))
    before = previous.get("source") or {}
    detail: dict[str, Any] = {"rows_old": before.get("rows_read"), "location_old": before.get("location")}
    if task.settings.source_uri == DATABASE_SOURCE:
        detail["location"] = f"database:{dataset}"
    else:
        try:
            path = source_path(task.settings, dataset)
            detail["location"] = str(path)
            detail["rows_new"] = _source_rows(path) if change.new is not None else None
        except Exception as e:  # the source is gone: that is the news
            detail["location"] = str(before.get("location") or dataset)
            detail["error"] = str(e)
    return Cause("source", dataset, change.old, change.new, detail)


def _causes(
    task: AkerTask,
    changes: list[KeyChange],
    upstream: Mapping[str, AkerTask],
    states: Mapping[str, TaskStatus],
    previous: Mapping[str, Any],
) -> list[Cause]:
    causes: list[Cause] = []
    for change in changes:
        if change.part == "input" and change.name == "source" and task.get_task_family() in SOURCE_READERS:
            causes.append(_source_cause(task, change, previous))
        elif change.part == "input" and change.name in upstream:
            up = upstream[change.name]
            label = task_label(up)
            if change.new is None:
                # Not built for the current inputs: this task reruns unless the rebuilt upstream
                # turns out byte-identical to what it read last time.
                causes.append(Cause("upstream", label, change.old, None, {"state": states[up.task_id].state}))
            else:
                causes.append(Cause("input", label, change.old, change.new))
        elif change.part == "code":
            causes.append(Cause("code", change.name, change.old, change.new, {"file": _module_file(change.name)}))
        else:
            causes.append(Cause(change.part, change.name, change.old, change.new))
    return causes


def _upstream(task: AkerTask, *, publication: bool = False) -> dict[str, AkerTask]:
    """Input name (as :meth:`AkerTask.input_hashes` names it) -> upstream task; the publication
    (not a file input) only with ``publication``."""
    reqs = task.requires()
    if isinstance(reqs, Mapping):
        items = list(reqs.items())
    elif isinstance(reqs, list | tuple):
        items = [(str(i), r) for i, r in enumerate(reqs)]
    else:
        items = [] if reqs is None else [("0", reqs)]
    return {name: t for name, t in items if publication or t.get_task_family() != "PublishScores"}


def _closest(candidates: list[Previous], parts: KeyParts) -> tuple[Previous | None, list[KeyChange]]:
    """The earlier target the task would otherwise reuse -- the one whose key differs in the fewest
    parts, the newest among equals (so with weights alternating, the composite of these weights) --
    and those differences."""
    best: tuple[Previous | None, list[KeyChange]] = (None, [])
    for candidate in candidates:  # newest first: a later one must be strictly closer to win
        changes = key_changes(KeyParts.from_sidecar(candidate.sidecar), parts)
        if best[0] is None or len(changes) < len(best[1]):
            best = (candidate, changes)
    return best


def _file_task(task: AkerTask, states: Mapping[str, TaskStatus]) -> TaskStatus:
    """Fresh, stale or missing for a task whose target is a cache file."""
    from aker_core.exceptions import AkerError
    from aker_tasks.targets import CacheTarget

    label, family = task_label(task), task.get_task_family()
    upstream = _upstream(task)
    inputs: dict[str, str] = {}
    problem: Cause | None = None
    if family in SOURCE_READERS:
        try:
            inputs = dict(task.input_hashes() or {})
        except (AkerError, OSError) as e:
            problem = Cause("source", str(getattr(task, "dataset", "")), None, None, {"error": str(e)})
    else:
        for name, up in upstream.items():
            # Only a fresh upstream has a known target (asking another for its output would
            # compute its key, and raise for a source that cannot be read).
            out = up.output() if states[up.task_id].state == "fresh" else None
            if isinstance(out, CacheTarget):
                inputs[name] = out.content_hash()
    parts: KeyParts = task.parts_for(inputs)
    complete = problem is None and len(inputs) == (1 if family in SOURCE_READERS else len(upstream))
    target = task.target_for(parts) if complete else None
    if target is not None and target.exists():
        return TaskStatus(label, family, dict(parts.params), "fresh", target=target.path)
    directory = task.settings.cache_path / "targets" / family / task.as_of_dir()
    previous, changes = _closest(earlier_targets(directory, family, parts.params), parts)
    causes: list[Cause] = [problem] if problem else []
    if previous is not None:
        if problem is not None:
            changes = [c for c in changes if not (c.part == "input" and c.name == "source")]
        causes += _causes(task, changes, upstream, states, previous.sidecar)
        if not causes:
            # Same key: the target itself was deleted or damaged since.
            causes.append(Cause("target", str(previous.path), None, None, {"reason": "deleted or damaged"}))
    else:
        causes += [
            Cause("upstream", task_label(up), None, None, {"state": states[up.task_id].state})
            for name, up in upstream.items()
            if name not in inputs
        ]
    state: TaskState = "stale" if previous is not None else "missing"
    return TaskStatus(
        label,
        family,
        dict(parts.params),
        state,
        target=target.path if target is not None else None,
        previous=str(previous.path) if previous is not None else None,
        causes=tuple(causes),
    )


def _held(url: str, day: dt.date) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The publication state row for ``day`` and what the database holds (run, weights)."""
    from aker_tasks.audit.dbread import as_json, query
    from aker_tasks.publication import STATE_SQL

    row = query(url, STATE_SQL, {"day": day})[0]
    state = tuple(row.values())
    held: dict[str, Any] = {}
    if row["n"]:
        first = query(url, "SELECT weights FROM pillar_scores WHERE score_as_of = :day LIMIT 1", {"day": day})
        held = {"run_id": row["first_run"], "weights": as_json(first[0]["weights"]) if first else None}
    return state, held


def _weights_text(weights: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k} {float(v):.4g}" for k, v in (weights or {}).items())


def _publication(publish: AkerTask, compose_state: TaskStatus, day: dt.date) -> tuple[PublicationStatus, TaskStatus]:
    """Whether the database publishes the current composite, and PublishScores' state."""
    from aker_tasks.audit.dbread import AuditError, masked
    from aker_tasks.publication import PublishedScores, _is_published

    url = publish.settings.database_url
    shown = masked(url)
    label, family = task_label(publish), publish.get_task_family()
    params = {"as_of": day.isoformat()}
    upstream = (
        []
        if compose_state.state == "fresh"
        else [Cause("upstream", compose_state.task, None, None, {"state": compose_state.state})]
    )
    try:
        state, held = _held(url, day)
    except AuditError as e:
        # The error names the database already; the line names it once.
        why = re.sub(r"^database \S+: ", "", str(e))
        pub = PublicationStatus("unreachable", shown, f"cannot be read: {why}")
        cause = Cause("database", shown, None, None, {"error": str(e)})
        return pub, TaskStatus(label, family, params, "missing", causes=(*upstream, cause))
    target = publish.output() if compose_state.state == "fresh" else None
    if isinstance(target, PublishedScores) and _is_published(state, target.publication, target.rows):
        detail = f"publishes these scores (run {held.get('run_id')})"
        pub = PublicationStatus("current", shown, detail, held.get("run_id"), held.get("weights"))
        return pub, TaskStatus(label, family, params, "fresh")
    if not held:
        pub = PublicationStatus("none", shown, f"holds no scores for {day}")
        cause = Cause("publication", "pillar_scores", None, None, {"held": None})
        return pub, TaskStatus(label, family, params, "missing", causes=(*upstream, cause))
    new = target.publication if isinstance(target, PublishedScores) else None
    detail = (
        f"holds other scores for {day}: run {held['run_id']}, weights {_weights_text(held.get('weights'))}"
        if new is not None
        else f"holds scores for {day} (run {held['run_id']}, weights {_weights_text(held.get('weights'))}); "
        "the composite they would be replaced with is not built yet"
    )
    pub = PublicationStatus(
        "other" if new is not None else "unknown", shown, detail, held["run_id"], held.get("weights")
    )
    cause = Cause(
        "publication", "pillar_scores", state[4], new, {"run_id": held["run_id"], "weights": held.get("weights")}
    )
    return pub, TaskStatus(label, family, params, "stale", causes=(*upstream, cause))


def status(as_of: dt.date | str, weights: Mapping[str, Any] | None = None, fmt: str = "csv") -> StatusReport:
    """What ``luigi --module aker_tasks ScoreMarkets --as-of D`` would do, and why -- without doing it.

    Args:
        as_of: the as-of date (``YYYY-MM-DD`` or ``YYYY-MM``).
        weights: pillar weights as for ``--weights`` (default ``AKER_WEIGHTS``).
        fmt: the export format (``csv``, ``parquet``, ``jsonl``).

    Returns:
        Per task fresh/stale/missing with the causes, and the database publication.

    Raises:
        ScoringError: invalid weights or date.
        ConfigError: invalid settings.
    """
    from aker_core.dates import parse_as_of
    from aker_tasks.export import ExportScores
    from aker_tasks.publication import PublishScores
    from aker_tasks.score import ComposeScores

    started = time.perf_counter()
    day = parse_as_of(as_of)
    export = ExportScores(as_of=day, weights=weights, format=fmt)
    states: dict[str, TaskStatus] = {}
    publication: PublicationStatus | None = None
    compose = export.requires()["scores"]
    for task in graph_tasks(export):
        if isinstance(task, PublishScores):
            publication, states[task.task_id] = _publication(task, states[compose.task_id], day)
            continue
        result = _file_task(task, states)
        if isinstance(task, ExportScores) and publication is not None and publication.state != "current":
            # An export counts only beside its publication (ExportScores.complete).
            publish = task.requires()["published"]
            cause = Cause("upstream", task_label(publish), None, None, {"state": states[publish.task_id].state})
            if result.state == "fresh":
                result = TaskStatus(
                    result.task, result.family, result.params, "stale", result.target, result.target, (cause,)
                )
        states[task.task_id] = result
    assert publication is not None  # the graph always has PublishScores
    assert isinstance(compose, ComposeScores)
    return StatusReport(
        as_of=day,
        weights=compose.weights_used(),
        format=fmt,
        tasks=tuple(states.values()),
        publication=publication,
        seconds=time.perf_counter() - started,
    )
