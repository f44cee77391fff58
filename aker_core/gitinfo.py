"""The code version a run records: git SHA and whether the work tree had uncommitted changes."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["GitInfo", "git_info"]

#: The repository whose HEAD describes the running code: the one holding these packages.
CODE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class GitInfo:
    """SHA of HEAD (``unknown`` outside a repository) and the dirty flag (``None`` if unknown)."""

    sha: str
    dirty: bool | None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=CODE_ROOT, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


@lru_cache(maxsize=1)
def _from_repository() -> GitInfo:
    sha = _git("rev-parse", "HEAD")
    if not sha:
        return GitInfo("unknown", None)
    status = _git("status", "--porcelain", "--untracked-files=no")
    return GitInfo(sha, None if status is None else bool(status))


def git_info() -> GitInfo:
    """Return the running code's version.

    ``GIT_SHA`` in the environment wins (deployments without a ``.git``; ``GIT_DIRTY=1`` marks
    it dirty); otherwise the repository's HEAD, asked once per process; else ``unknown``.
    """
    override = os.environ.get("GIT_SHA", "").strip()
    if override:
        dirty = os.environ.get("GIT_DIRTY")
        return GitInfo(override, None if dirty is None else dirty.strip() in ("1", "true", "yes"))
    return _from_repository()
