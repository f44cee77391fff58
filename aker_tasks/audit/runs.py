"""``aker runs list`` / ``aker runs show``: the recorded runs, read-only.

A run is one executed task (see README, "The tables behind it: `runs` and `lineage`"). Run ids may be given as unique
prefixes (as git abbreviates commits).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any

from aker_tasks.audit.dbread import EXIT_USAGE, AuditError, as_json, as_text_time, query

__all__ = ["LineageRecord", "RunRecord", "last_runs", "list_runs", "resolve_run", "show_run"]

#: A run id prefix: hex digits and dashes (a UUID's alphabet), so it is safe in a LIKE pattern.
_PREFIX = re.compile(r"[0-9a-fA-F-]+")


@dataclass(frozen=True)
class LineageRecord:
    """One dataset a run read or wrote."""

    direction: str
    table: str
    source: str
    url: str | None
    hash: str | None
    rows: int | None
    path: str | None


@dataclass(frozen=True)
class RunRecord:
    """One ``runs`` row (and, from :func:`show_run`, its lineage).

    ``config`` is the settings snapshot the run recorded (secrets are never in it);
    ``code_versions`` is ``{"modules": ..., "libraries": ...}`` (``None`` for runs recorded
    before they were kept).
    """

    run_id: str
    task_family: str | None
    task_params: dict[str, Any]
    status: str
    started_at: str | None
    finished_at: str | None
    git_sha: str
    git_dirty: bool | None
    config_hash: str
    config: dict[str, Any]
    seed: int | None
    output_hash: str | None
    error: str | None
    host: str | None
    warnings: str | None
    code_versions: dict[str, Any] | None
    lineage: tuple[LineageRecord, ...] = ()

    @property
    def as_of(self) -> str | None:
        """The as_of the run's task was for, if it has one."""
        value = self.task_params.get("as_of")
        return str(value) if value is not None else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data (``--json``)."""
        return asdict(self)


def _record(row: dict[str, Any], lineage: tuple[LineageRecord, ...] = ()) -> RunRecord:
    dirty = row.get("git_dirty")
    return RunRecord(
        run_id=str(row["run_id"]),
        task_family=row.get("task_family"),
        task_params=dict(as_json(row.get("task_params")) or {}),
        status=str(row["status"]),
        started_at=as_text_time(row.get("started_at")),
        finished_at=as_text_time(row.get("finished_at")),
        git_sha=str(row.get("git_sha")),
        git_dirty=None if dirty is None else bool(dirty),
        config_hash=str(row.get("config_hash")),
        config=dict(as_json(row.get("config_json")) or {}),
        seed=row.get("seed"),
        output_hash=row.get("output_hash"),
        error=row.get("error"),
        host=row.get("host"),
        warnings=row.get("warnings"),
        code_versions=as_json(row.get("code_versions")),
        lineage=lineage,
    )


def _database_url() -> str:
    from aker_core.config import get_settings

    return get_settings().database_url


def list_runs(
    as_of: dt.date | str | None = None,
    task: str | None = None,
    limit: int | None = 20,
    status: str | None = None,
    url: str | None = None,
) -> list[RunRecord]:
    """Recorded runs, newest first.

    Args:
        as_of: only runs of tasks for this as_of.
        task: only runs of this task family (e.g. ``ComposeScores``).
        limit: at most this many (``None``: all).
        status: only runs with this status (``completed``, ``failed``, ``running``).
        url: the run database (default: the configured one).

    Raises:
        AuditError: a negative ``limit`` (exit code 2), or the database cannot be read.
    """
    from aker_core.dates import parse_as_of

    if limit is not None and limit < 0:  # SQLite reads LIMIT -1 as "all", PostgreSQL refuses it
        raise AuditError(f"--limit: must be 0 or more, got {limit}", EXIT_USAGE)
    day = parse_as_of(as_of).isoformat() if as_of is not None else None
    where, params = [], {}
    if task:
        where.append("task_family = :task")
        params["task"] = task
    if status:
        where.append("status = :status")
        params["status"] = status
    sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY started_at DESC"
    if day is None and limit is not None:
        sql += f" LIMIT {int(limit)}"
    found: list[RunRecord] = []
    for row in query(url or _database_url(), sql, params):
        record = _record(row)
        if day is not None and record.as_of != day:
            continue  # task_params is JSON: filtered here, the same on every backend
        found.append(record)
        if limit is not None and len(found) >= limit:
            break
    return found


def resolve_run(prefix: str, url: str | None = None) -> str:
    """The full id of the one run whose id starts with ``prefix``.

    Raises:
        AuditError: no run, or more than one, starts with it (exit code 2), or the database
            cannot be read.
    """
    if not _PREFIX.fullmatch(prefix):
        raise AuditError(f"{prefix!r} is not a run id (hex digits and dashes)", EXIT_USAGE)
    rows = query(
        url or _database_url(), "SELECT run_id FROM runs WHERE run_id LIKE :p LIMIT 2", {"p": f"{prefix.lower()}%"}
    )
    if not rows:
        raise AuditError(f"no run id starts with {prefix!r} (see `aker runs list`)", EXIT_USAGE)
    if len(rows) > 1:
        raise AuditError(f"more than one run id starts with {prefix!r}: give more characters", EXIT_USAGE)
    return str(rows[0]["run_id"])


def show_run(run: str, url: str | None = None) -> RunRecord:
    """One run (id or unique prefix) with its lineage.

    Raises:
        AuditError: unknown or ambiguous id, or the database cannot be read.
    """
    url = url or _database_url()
    run_id = resolve_run(run, url)
    rows = query(url, "SELECT * FROM runs WHERE run_id = :id", {"id": run_id})
    lineage = tuple(
        LineageRecord(
            direction=str(r["direction"]),
            table=str(r["table"]),
            source=str(r["source"]),
            url=r.get("source_url"),
            hash=r.get("hash"),
            rows=r.get("rows"),
            path=r.get("path"),
        )
        for r in query(url, "SELECT * FROM lineage WHERE run_id = :id ORDER BY direction, id", {"id": run_id})
    )
    return _record(rows[0], lineage)


#: Parameters that vary between runs of one task (the configuration, the weights): two runs that
#: differ only in them are the same task -- ``FetchSource(markets)`` is not ``FetchSource(market_jobs)``.
_VARYING_PARAMS = frozenset({"config", "weights"})


def _same_task(run: RunRecord) -> dict[str, Any]:
    return {k: v for k, v in run.task_params.items() if k not in _VARYING_PARAMS}


def last_runs(task: str, as_of: dt.date | str, count: int = 2, url: str | None = None) -> list[RunRecord]:
    """The last completed run of a task family for an as_of and the ones before it of the same task.

    The same task: the same parameters (dataset, pillar, format) except the configuration and
    weights. Oldest first.

    Raises:
        AuditError: fewer than ``count`` such runs (exit code 2), or the database cannot be read.
    """
    runs = list_runs(as_of=as_of, task=task, limit=None, status="completed", url=url)
    runs = [r for r in runs if _same_task(r) == _same_task(runs[0])][:count] if runs else []
    if len(runs) < count:
        raise AuditError(
            f"{len(runs)} completed run(s) of {task} as of {as_of} are recorded; {count} are needed", EXIT_USAGE
        )
    return [show_run(r.run_id, url) for r in reversed(runs)]
