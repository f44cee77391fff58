"""Stable export paths: the same, human place for the latest export of an as_of and weight set.

``<AKER_EXPORT_DIR>/<as_of>/scores.<ext>`` (the HTML page: ``scorecard.html``) holds the export
made with the configured weights
(``AKER_WEIGHTS``); any other weights get a readable variant name from their percentages,
``scores.supply-40_jobs-30_urban-20_outdoor-10.<ext>``, so each weight set keeps its own file and
none overwrites another. When a percentage needs more than two decimals to be exact (e.g. 1/3),
the name also carries 8 hex digits of the exact weights, so two weight sets never share a file.

The stable file is a byte-for-byte copy of the content-addressed export target (the cache keeps
the history; the stable path is "the current one"), replaced atomically: the copy is written to
a temporary file in the same directory, flushed to disk and renamed over the old file
(``os.replace``), so a reader sees the old file or the new one, never a partial one.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import xxhash

from aker_core.config import PILLARS
from aker_tasks.hashing import file_hash
from aker_tasks.targets import TMP_MARKER, remove_stale_temporaries

__all__ = ["is_current", "replace_atomically", "stable_path", "variant_name"]

#: Name of every stable export file (before the variant and the extension)...
STEM = "scores"
#: ...but the HTML page, which is a scorecard rather than the scores themselves.
STEMS: dict[str, str] = {"html": "scorecard"}


def _percent(weight: float) -> str:
    text = f"{100 * weight:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def variant_name(weights: Mapping[str, float]) -> str:
    """``supply-40_jobs-30_urban-20_outdoor-10`` for normalised ``weights`` (see the module docstring)."""
    parts = [f"{p}-{_percent(float(weights[p]))}" for p in PILLARS]
    exact = all(abs(float(_percent(float(weights[p]))) / 100 - float(weights[p])) < 1e-12 for p in PILLARS)
    if not exact:
        parts.append(xxhash.xxh3_64_hexdigest(repr([float(weights[p]) for p in PILLARS]).encode())[:8])
    return "_".join(parts)


def stable_path(
    export_dir: Path, as_of: dt.date, weights: Mapping[str, float], default: Mapping[str, float], extension: str
) -> Path:
    """Where the stable export of ``as_of`` with ``weights`` lives.

    Args:
        export_dir: ``AKER_EXPORT_DIR``.
        as_of: the export's as-of date (one directory per date).
        weights: the normalised weights of the export.
        default: the normalised configured weights (``AKER_WEIGHTS``): these get plain ``scores``.
        extension: ``csv``, ``parquet``, ``jsonl`` (the format); ``html`` is ``scorecard.html``.
    """
    same = all(float(weights[p]) == float(default[p]) for p in PILLARS)
    stem = STEMS.get(extension, STEM)
    name = stem if same else f"{stem}.{variant_name(weights)}"
    return export_dir / as_of.isoformat() / f"{name}.{extension}"


def is_current(path: Path, content_hash: str) -> bool:
    """Whether ``path`` exists and holds exactly the bytes hashed as ``content_hash`` (never raises)."""
    try:
        return file_hash(path) == content_hash
    except OSError:
        return False


def replace_atomically(source: Path, dest: Path) -> None:
    """Make ``dest`` a copy of ``source``; readers of ``dest`` see the old or the new file, never a mix.

    The temporary file is hidden (a leading dot) and named like Luigi's temporaries, so a crashed
    copy's leftover is removed by the next one (after 15 minutes, as for every target directory).

    Raises:
        OSError: ``source`` cannot be read or ``dest``'s directory cannot be written.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}{TMP_MARKER}", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates 0600; the stable file is for sharing, so it gets the target's mode.
        shutil.copymode(source, tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename itself on disk: after a power loss dest is the old or the new file.
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
