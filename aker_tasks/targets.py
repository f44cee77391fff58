"""Cache targets: an atomically written data file plus a JSON sidecar describing it.

The sidecar is written after the data and is the commit marker: a target exists only when both
files do, so a crash between them reads as "not built" and the task reruns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import luigi
import orjson

from aker_tasks.exceptions import CacheError
from aker_tasks.hashing import file_hash

__all__ = ["PARQUET", "CacheTarget", "PendingTarget", "atomic_path", "read_sidecar"]

PARQUET = "application/vnd.apache.parquet"
SIDECAR_SUFFIX = ".json"


def read_sidecar(path: Path) -> dict[str, Any]:
    """Read a sidecar JSON file.

    Raises:
        CacheError: the file is missing or is not valid JSON.
    """
    try:
        return dict(orjson.loads(path.read_bytes()))
    except FileNotFoundError as e:
        raise CacheError(f"sidecar {path} is missing") from e
    except orjson.JSONDecodeError as e:
        raise CacheError(f"sidecar {path} is not valid JSON: {e}") from e


@contextmanager
def atomic_path(target: luigi.LocalTarget) -> Iterator[str]:
    """Luigi's ``temporary_path()`` that also removes the temporary file when writing fails.

    The final name only ever appears through the rename at the end, so a crash never leaves a
    file there that looks complete; if the final file already exists it is kept (see below).
    """
    tmp: str | None = None
    try:
        with target.temporary_path() as tmp:
            yield tmp
    except luigi.target.FileAlreadyExists:
        # Another worker renamed the same content-addressed file into place first. Its bytes
        # are what ours would be (same key, deterministic writer), and a file only ever appears
        # there complete, so keep it and drop ours.
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


class CacheTarget(luigi.LocalTarget):
    """A content-addressed file under the cache with its ``<file>.json`` sidecar."""

    def __init__(self, path: Path, content_type: str = PARQUET) -> None:
        super().__init__(str(path))
        self.content_type = content_type

    @property
    def file(self) -> Path:
        """The data file."""
        return Path(self.path)

    @property
    def sidecar_path(self) -> Path:
        """The sidecar next to the data file."""
        return Path(self.path + SIDECAR_SUFFIX)

    def exists(self) -> bool:
        """True when both the data file and its sidecar are in place."""
        return self.sidecar_path.is_file() and self.file.is_file()

    def sidecar(self) -> dict[str, Any]:
        """The parsed sidecar (see :func:`read_sidecar`)."""
        return read_sidecar(self.sidecar_path)

    def content_hash(self) -> str:
        """The data's content hash as recorded in the sidecar."""
        return str(self.sidecar()["content_hash"])

    def write_sidecar(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Hash the finished data file and write the sidecar atomically; return what was written.

        ``meta`` supplies the provenance fields; this adds content type, hash, size and time.
        """
        doc = {
            "content_type": self.content_type,
            "path": self.path,
            "content_hash": file_hash(self.file),
            "bytes": self.file.stat().st_size,
            **meta,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        sidecar = luigi.LocalTarget(str(self.sidecar_path))
        with atomic_path(sidecar) as tmp:
            Path(tmp).write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        return doc


class PendingTarget(luigi.Target):
    """Stands in for a target whose identity depends on inputs that are not built yet."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def exists(self) -> bool:
        """Never: the task has to wait for its inputs and then compute its real key."""
        return False

    def __repr__(self) -> str:
        return f"PendingTarget({self.reason})"
