"""Cache targets: an atomically written data file plus a JSON sidecar describing it.

The sidecar is written after the data and is the commit marker: a target exists only when both
files do *and the data's bytes hash to what the sidecar records*, so a crash between them, a
truncated or 0-byte file (a power loss before the data reached the disk) or bytes changed on
disk read as "not built", and the task rebuilds it (:meth:`CacheTarget.discard_invalid`). Both
files are fsynced before their rename, and the directory after it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import luigi
import orjson

from aker_tasks.exceptions import CacheError
from aker_tasks.hashing import file_hash

__all__ = [
    "ARROW",
    "PARQUET",
    "CacheTarget",
    "PendingTarget",
    "atomic_path",
    "read_sidecar",
    "remove_stale_temporaries",
]

PARQUET = "application/vnd.apache.parquet"
#: Content type of an Arrow IPC file (the "Feather v2" format, uncompressed).
ARROW = "application/vnd.apache.arrow.file"
SIDECAR_SUFFIX = ".json"
#: Luigi's temporary_path() names: ``<final name>-luigi-tmp-<random>``.
TMP_MARKER = "-luigi-tmp-"
#: A temporary file this old is a crashed writer's leftover, not one being written now.
STALE_TMP_SECONDS = 15 * 60


def _fsync(path: str | os.PathLike[str]) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(directory: Path, now: float | None = None) -> list[Path]:
    """Remove temporary files in ``directory`` that crashed writers left (older than 15 minutes)."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if TMP_MARKER in entry.name and entry.is_file():
            try:
                if now - entry.stat().st_mtime > STALE_TMP_SECONDS:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except FileNotFoundError:  # its writer finished or another cleaner was first
                continue
    return removed


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
def atomic_path(target: luigi.LocalTarget, *, replace_different: bool = False) -> Iterator[str]:
    """Luigi's ``temporary_path()`` that also removes the temporary file when writing fails.

    The final name only ever appears through the rename at the end, so a crash never leaves a
    file there that looks complete. If the final file already exists, it is kept when it holds
    the same bytes (another worker wrote the same content-addressed file first); with
    ``replace_different`` a different file there -- a 0-byte or truncated leftover of a crash
    -- is replaced by the one just written.
    """
    tmp: str | None = None
    try:
        with target.temporary_path() as tmp:
            yield tmp
            # On disk before the rename makes it visible: after a power loss the final name
            # never points at data the disk does not have.
            _fsync(tmp)
        _fsync(Path(target.path).parent)
    except luigi.target.FileAlreadyExists:
        if tmp is not None:
            if replace_different and file_hash(tmp) != file_hash(target.path):
                os.replace(tmp, target.path)
                _fsync(Path(target.path).parent)
            else:
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
        """True when the data file and its sidecar are in place and the data is what it records.

        The hash is memoised per (path, size, mtime, inode), so asking again costs a ``stat``.
        """
        if not (self.sidecar_path.is_file() and self.file.is_file()):
            return False
        try:
            return self.content_hash() == file_hash(self.file)
        except (CacheError, KeyError, OSError):
            return False

    def discard_invalid(self) -> bool:
        """Remove a target whose sidecar no longer matches its data (damaged on disk), to rebuild it.

        A data file *without* a sidecar is left alone: it may be another worker's, renamed into
        place a moment before its sidecar; the rebuild then replaces it only if its bytes differ
        (:func:`atomic_path`), which covers a crash's 0-byte or truncated leftover.

        Returns:
            Whether something was removed.
        """
        if not self.sidecar_path.is_file() or self.exists():
            return False
        for path in (self.sidecar_path, self.file):
            path.unlink(missing_ok=True)
        return True

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
