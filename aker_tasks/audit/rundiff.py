"""``aker runs diff``: what differs between two runs -- the runbook's "hash drift" in one answer.

Compares the recorded configuration field by field (weights included; the snapshot holds no
secret), the git sha and dirty flag, the code version of every module and library, the content
hash of every input, and whether the outputs are equal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from aker_tasks.audit.runs import RunRecord, last_runs, show_run
from aker_tasks.cachekey import flatten

__all__ = ["FieldChange", "RunDiff", "diff_last", "diff_records", "diff_runs"]


@dataclass(frozen=True)
class FieldChange:
    """One field whose value differs: ``old`` in the first run, ``new`` in the second (``None``: absent)."""

    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class RunDiff:
    """The differences between run ``a`` (older/first) and run ``b``.

    Attributes:
        a, b: the two runs (with lineage).
        task: task family or parameters that differ.
        config: configuration fields that differ, dotted (``weights.jobs``).
        git: ``git_sha`` / ``git_dirty`` if they differ.
        code: code modules whose version differs.
        libraries: library versions that differ.
        inputs: inputs (by dataset or upstream input name) whose content hash differs.
        output_equal: whether both runs produced the same output hash.
    """

    a: RunRecord
    b: RunRecord
    task: tuple[FieldChange, ...]
    config: tuple[FieldChange, ...]
    git: tuple[FieldChange, ...]
    code: tuple[FieldChange, ...]
    libraries: tuple[FieldChange, ...]
    inputs: tuple[FieldChange, ...]
    output_equal: bool

    @property
    def differences(self) -> int:
        """How many fields differ (outputs not counted)."""
        return sum(len(x) for x in (self.task, self.config, self.git, self.code, self.libraries, self.inputs))

    @property
    def code_known(self) -> bool:
        """Whether both runs recorded their code versions (runs before they were kept did not)."""
        return self.a.code_versions is not None and self.b.code_versions is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data (``--json``)."""
        doc = asdict(self)
        doc["a"] = {k: v for k, v in doc["a"].items() if k != "lineage"}
        doc["b"] = {k: v for k, v in doc["b"].items() if k != "lineage"}
        doc["differences"] = self.differences
        doc["code_known"] = self.code_known
        return doc


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(name, old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    )


def _inputs(run: RunRecord) -> dict[str, Any]:
    """Input name -> content hash: the dataset of a fetch, the upstream input of other tasks."""
    found: dict[str, Any] = {}
    for item in run.lineage:
        if item.direction != "input":
            continue
        name = item.source.removeprefix("target:") if item.source.startswith("target:") else item.table
        found[name] = item.hash
    return found


def _code(run: RunRecord, part: str) -> dict[str, Any]:
    return dict((run.code_versions or {}).get(part) or {})


def diff_records(a: RunRecord, b: RunRecord) -> RunDiff:
    """The differences between two runs already read (see :func:`diff_runs`)."""
    # weights are compared with the configuration (config.weights), not twice
    task_a = {"family": a.task_family, **{f"params.{k}": v for k, v in a.task_params.items() if k != "weights"}}
    task_b = {"family": b.task_family, **{f"params.{k}": v for k, v in b.task_params.items() if k != "weights"}}
    return RunDiff(
        a=a,
        b=b,
        task=_changes(task_a, task_b),
        config=_changes(flatten(a.config), flatten(b.config)),
        git=_changes(
            {"git_sha": a.git_sha, "git_dirty": a.git_dirty}, {"git_sha": b.git_sha, "git_dirty": b.git_dirty}
        ),
        code=_changes(_code(a, "modules"), _code(b, "modules")),
        libraries=_changes(_code(a, "libraries"), _code(b, "libraries")),
        inputs=_changes(_inputs(a), _inputs(b)),
        output_equal=a.output_hash == b.output_hash,
    )


def diff_runs(run_a: str, run_b: str, url: str | None = None) -> RunDiff:
    """Compare two runs given by id or unique prefix.

    Raises:
        AuditError: an unknown or ambiguous id, or the database cannot be read.
    """
    return diff_records(show_run(run_a, url), show_run(run_b, url))


def diff_last(task: str, as_of: dt.date | str, url: str | None = None) -> RunDiff:
    """Compare the last two completed runs of one task of a family for an as_of (older first; see ``last_runs``).

    Raises:
        AuditError: fewer than two such runs, or the database cannot be read.
    """
    older, newer = last_runs(task, as_of, 2, url)
    return diff_records(older, newer)
