"""The recorded lineage as a graph: which run produced a content hash, and what each run read.

Targets are content-addressed, so "which run built this input" is "which completed run of that
task family recorded an output with this hash". The walk from a publication to its sources
(:mod:`aker_tasks.audit.trace`) and the set of live files (:mod:`aker_tasks.audit.gc`) are both
this graph, read from the ``runs`` and ``lineage`` tables only, so they work after targets were
removed or the sources edited.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["Edge", "LineageGraph", "RunRef", "database_problem", "utc"]


def database_problem(error: BaseException, url: str) -> str:
    """One line for a database that cannot answer an audit question: the masked URL and the cause."""
    from aker_core.redact import mask_dsn

    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [type(error).__name__])[0]
    hint = ""
    if "no such table" in first or ("relation" in first and "does not exist" in first):
        hint = " (no aker run was ever recorded there: check AKER_POSTGIS_DSN)"
    return f"database {mask_dsn(url)}: {first}{hint}"


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A database timestamp as an aware UTC datetime (SQLite returns naive ones; aker writes UTC)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class RunRef:
    """One recorded run: what ran, when, with which code and configuration."""

    run_id: str
    task_family: str
    status: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    git_sha: str
    git_dirty: bool | None
    config_hash: str
    task_params: dict[str, Any]
    output_hash: str | None

    @property
    def as_of(self) -> str | None:
        """The run's ``as_of`` parameter (ISO date), if it has one."""
        value = self.task_params.get("as_of")
        return str(value) if value is not None else None


@dataclass(frozen=True)
class Edge:
    """One lineage row: a dataset a run read (``input``) or wrote (``output``)."""

    run_id: str
    direction: str
    table: str
    source: str
    url: str | None
    path: str | None
    hash: str | None
    fetched_at: dt.datetime | None
    rows: int | None


class LineageGraph:
    """Completed runs and their lineage, indexed both ways (loaded once from the database)."""

    def __init__(self, runs: list[RunRef], edges: list[Edge]) -> None:
        self.runs: dict[str, RunRef] = {r.run_id: r for r in runs}
        self._inputs: dict[str, list[Edge]] = defaultdict(list)
        self._outputs: dict[str, list[Edge]] = defaultdict(list)
        self._producers: dict[tuple[str, str], list[RunRef]] = defaultdict(list)
        self._by_hash: dict[str, list[RunRef]] = defaultdict(list)
        for edge in edges:
            if edge.run_id not in self.runs:
                continue
            if edge.direction == "input":
                self._inputs[edge.run_id].append(edge)
            else:
                self._outputs[edge.run_id].append(edge)
                if edge.hash:
                    self._producers[(edge.table, edge.hash)].append(self.runs[edge.run_id])
                    self._by_hash[edge.hash].append(self.runs[edge.run_id])
        never = dt.datetime.min.replace(tzinfo=dt.UTC)
        for found in self._producers.values():
            found.sort(key=lambda r: (r.finished_at or never, r.run_id))

    @classmethod
    def load(cls, session: Session) -> LineageGraph:
        """Every completed run and every lineage row of those runs."""
        from sqlalchemy import select

        from aker_data.models import Lineage, Run

        runs = [
            RunRef(
                run_id=r.run_id,
                task_family=r.task_family or "",
                status=r.status,
                started_at=utc(r.started_at),
                finished_at=utc(r.finished_at),
                git_sha=r.git_sha,
                git_dirty=r.git_dirty,
                config_hash=r.config_hash,
                task_params=dict(r.task_params or {}),
                output_hash=r.output_hash,
            )
            for r in session.scalars(select(Run).where(Run.status == "completed"))
        ]
        rows = session.execute(
            select(
                Lineage.run_id,
                Lineage.direction,
                Lineage.table,
                Lineage.source,
                Lineage.source_url,
                Lineage.path,
                Lineage.hash,
                Lineage.fetched_at,
                Lineage.rows,
            )
        ).all()
        edges = [Edge(r[0], r[1], r[2], r[3], r[4], r[5], r[6], utc(r[7]), r[8]) for r in rows]
        return cls(runs, edges)

    def inputs(self, run_id: str) -> list[Edge]:
        """What the run read."""
        return list(self._inputs.get(run_id, ()))

    def outputs(self, run_id: str) -> list[Edge]:
        """What the run wrote."""
        return list(self._outputs.get(run_id, ()))

    def input_named(self, run_id: str, source: str) -> Edge | None:
        """The run's input recorded as ``source`` (e.g. ``target:supply``, ``file``)."""
        return next((e for e in self._inputs.get(run_id, ()) if e.source == source), None)

    def producer(self, family: str, content_hash: str, as_of: str | None = None) -> RunRef | None:
        """The completed run of ``family`` that first wrote ``content_hash`` (of ``as_of`` if one did)."""
        found = self._producers.get((family, content_hash), [])
        same_day = [r for r in found if as_of is None or r.as_of == as_of]
        chosen = same_day or found
        return chosen[0] if chosen else None

    def producers(self, family: str, content_hash: str) -> list[RunRef]:
        """Every completed run of ``family`` that wrote ``content_hash``, oldest first."""
        return list(self._producers.get((family, content_hash), []))

    def writers(self, content_hash: str) -> list[RunRef]:
        """Every completed run (any family) that wrote ``content_hash``."""
        return list(self._by_hash.get(content_hash, []))

    def runs_of(self, family: str) -> list[RunRef]:
        """Completed runs of ``family``."""
        return [r for r in self.runs.values() if r.task_family == family]
