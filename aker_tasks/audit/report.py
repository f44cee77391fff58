"""What ``aker status`` answers, as data: per task fresh/stale/missing and why, and the publication."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Cause", "PublicationStatus", "StatusReport", "TaskState", "TaskStatus"]

#: ``fresh``: its target for the current inputs exists; ``stale``: an earlier target of the same
#: task exists, but a key part changed (or an upstream will be rebuilt); ``missing``: never built.
TaskState = Literal["fresh", "stale", "missing"]


@dataclass(frozen=True)
class Cause:
    """One reason a task is not fresh, naming the key part that changed.

    Attributes:
        part: ``source`` (a source's content), ``code`` (a code module), ``library`` (a library
            version), ``setting`` (a setting or weight), ``upstream`` (an upstream task will be
            rebuilt), ``input`` (an upstream target's content differs), ``param``, ``code_version``
            (a target recorded before per-module versions were kept), ``target`` (the file was
            deleted or damaged), ``publication`` or ``database``.
        name: which one: the dataset, module, library, dotted setting (``weights.jobs``), task...
        old: its value when the earlier target was built (``None``: unknown or absent).
        new: its value now (``None``: unknown or absent).
        detail: extra facts (a source's path and rows, a module's file), JSON-safe.
    """

    part: str
    name: str
    old: Any = None
    new: Any = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskStatus:
    """One task of the graph.

    Attributes:
        task: a readable name, e.g. ``FetchSource(market_supply)``.
        family: the Luigi task family.
        params: its significant parameters (without ``config``).
        state: fresh, stale or missing.
        target: the path of its target for the current inputs, when they are known.
        previous: the target it would otherwise reuse (the closest earlier one of this task), if any.
        causes: why it is not fresh (empty when fresh).
    """

    task: str
    family: str
    params: dict[str, str]
    state: TaskState
    target: str | None = None
    previous: str | None = None
    causes: tuple[Cause, ...] = ()


@dataclass(frozen=True)
class PublicationStatus:
    """Whether the database publishes exactly the current composite for the as_of.

    Attributes:
        state: ``current``; ``other`` (other scores, e.g. other weights or older sources);
            ``none`` (nothing for the date); ``unknown`` (the composite is not built yet, so the
            publication it would make is not known); ``unreachable`` (the database cannot be read).
        database: the database URL without its password.
        detail: one line for a person.
        run_id: the run whose scores the database holds for the date, if any.
        weights: the weights of those scores, if any.
    """

    state: Literal["current", "other", "none", "unknown", "unreachable"]
    database: str
    detail: str
    run_id: str | None = None
    weights: dict[str, float] | None = None


@dataclass(frozen=True)
class StatusReport:
    """``aker status`` for one as_of, weights and export format.

    Attributes:
        as_of: the date asked about.
        weights: the normalised weights.
        format: the export format.
        tasks: every task ScoreMarkets would need, upstream first.
        publication: the database publication.
        seconds: how long computing the report took.
    """

    as_of: dt.date
    weights: dict[str, float]
    format: str
    tasks: tuple[TaskStatus, ...]
    publication: PublicationStatus
    seconds: float = 0.0

    @property
    def up_to_date(self) -> bool:
        """Whether every task is fresh and the publication current (ScoreMarkets would do nothing)."""
        return all(t.state == "fresh" for t in self.tasks) and self.publication.state == "current"

    def counts(self) -> dict[str, int]:
        """How many tasks are fresh, stale and missing."""
        return {state: sum(1 for t in self.tasks if t.state == state) for state in ("fresh", "stale", "missing")}

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-safe data (``aker status --json``)."""
        doc = asdict(self)
        doc["as_of"] = self.as_of.isoformat()
        doc["up_to_date"] = self.up_to_date
        doc["counts"] = self.counts()
        return doc
