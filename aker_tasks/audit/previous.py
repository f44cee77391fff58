"""The targets a task would otherwise reuse: the earlier ones built for the same task.

Targets are content-addressed, so when a key part changes the task's new target does not exist
yet, but the ones it was built into before do: the sidecars under ``targets/<family>/<as_of>/``
whose task parameters equal this task's (weights are not a parameter there: they are a key part,
so a composite with other weights counts as the same task). Sidecars are the most reliable record
for this: each describes exactly the key parts its file was named by, and it exists exactly as
long as the target does (the ``runs`` table also keeps runs whose targets are gone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aker_tasks.targets import SIDECAR_SUFFIX, read_sidecar

__all__ = ["Previous", "earlier_targets"]


@dataclass(frozen=True)
class Previous:
    """An earlier target of a task: its data file and parsed sidecar."""

    path: Path
    sidecar: dict[str, Any]


def earlier_targets(directory: Path, family: str, params: Mapping[str, str]) -> list[Previous]:
    """The targets in ``directory`` written by ``family`` with ``params``, newest first."""
    found: list[Previous] = []
    try:
        candidates = sorted(directory.glob(f"*{SIDECAR_SUFFIX}"))
    except OSError:
        return []
    for sidecar in candidates:
        try:
            meta = read_sidecar(sidecar)
        except Exception:  # damaged or being written: not a target anyone would reuse
            continue
        task = meta.get("task") or {}
        if task.get("family") == family and dict(task.get("params") or {}) == dict(params):
            found.append(Previous(Path(str(sidecar)[: -len(SIDECAR_SUFFIX)]), meta))
    return sorted(found, key=lambda p: (str(p.sidecar.get("created_at", "")), str(p.path)), reverse=True)
