"""Where source datasets live: resolving a source URI, finding a dataset file, hashing it."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from urllib.parse import unquote, urlparse

import xxhash

from aker_core.exceptions import DataValidationError
from aker_core.scoring.rules import METRIC_COLUMNS

__all__ = [
    "DATABASE_SOURCE",
    "DATASETS",
    "MARKETS",
    "SAMPLE_DIR",
    "SOURCE_TABLES",
    "content_hash",
    "dataset_path",
    "path_problem",
    "resolve_source_dir",
]

#: The bundled sample datasets (CSV, reviewable in git).
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample" / "data"

#: The dataset listing the markets themselves.
MARKETS = "markets"

#: Source tables with per-vintage metrics, in pillar order (their columns: :mod:`aker_core.scoring.rules`).
SOURCE_TABLES: tuple[str, ...] = tuple(METRIC_COLUMNS)

#: Every dataset a source directory holds. Defined here, not in :mod:`aker_core.sources.schema`,
#: because the task graph needs the names without loading pyarrow.
DATASETS: tuple[str, ...] = (MARKETS, *SOURCE_TABLES)

#: ``source_uri`` meaning "read the market_* tables of the run database".
DATABASE_SOURCE = "database"

#: Read size of :func:`content_hash`. One reused buffer of 1 MiB stays in the CPU cache: measured
#: on 65 MB of sources, 11 ms against 36 ms for fresh 8 MiB reads (each a new allocation to fault in).
HASH_CHUNK_BYTES = 1024 * 1024


def resolve_source_dir(source_uri: str) -> Path:
    """The directory a file-based ``source_uri`` points to.

    Args:
        source_uri: ``'sample'`` (the bundled sample), a directory path or a ``file://`` URL.

    Raises:
        DataValidationError: ``'database'`` (not a directory), another URL scheme, or a path that
            does not exist or is not a directory.
    """
    uri = source_uri.strip()
    if uri == "sample":
        return SAMPLE_DIR
    if uri == DATABASE_SOURCE:
        raise DataValidationError(
            "source_uri 'database' reads the market_* tables, not files; use read_table_from_db()"
        )
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise DataValidationError(f"file:// URL {uri!r} names a remote host; only local files are supported")
        path = Path(unquote(parsed.path))
    elif parsed.scheme and len(parsed.scheme) > 1:  # one letter = a Windows drive, not a scheme
        raise DataValidationError(
            f"unsupported source URI scheme {parsed.scheme!r} in {uri!r}: "
            "use 'sample', 'database', a directory or a file:// URL"
        )
    else:
        path = Path(uri)
    path = path.expanduser()
    problem = path_problem(path, directory=True)
    if problem == "does not exist":
        raise DataValidationError(f"source directory {str(path)!r} (from {uri!r}) does not exist")
    if problem is not None:
        raise DataValidationError(f"source {str(path)!r} (from {uri!r}) {problem}")
    return path.resolve()


def path_problem(path: Path, *, directory: bool = False) -> str | None:
    """Why ``path`` is not a usable file (or, with ``directory``, directory); ``None`` when it is.

    The answer completes a sentence naming the path: ``"does not exist"``, ``"is a directory, not
    a file"``, ``"is a symbolic link loop"``, ``"is a broken symbolic link (to 'x')"``, ...
    """
    try:
        mode = os.stat(path).st_mode  # follows symbolic links
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "is a symbolic link loop (or passes through one)"
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            if os.path.islink(path):
                return f"is a broken symbolic link (to {os.readlink(path)!r}, which does not exist)"
            return "does not exist"
        return f"cannot be read ({e.strerror or e})"
    if directory:
        return None if stat.S_ISDIR(mode) else "is not a directory"
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    return None


def dataset_path(source_dir: str | Path, name: str) -> Path:
    """The file holding dataset ``name`` in ``source_dir``: ``<name>.parquet`` or ``<name>.csv``.

    Raises:
        DataValidationError: unknown dataset, neither file present, both present (ambiguous), or
            the one present is no readable file (a directory, a symbolic link loop, a broken link).
    """
    if name not in DATASETS:
        raise DataValidationError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    directory = Path(source_dir)
    # lexists: a broken link or a loop is "there" (and reported as such), not "not found".
    found = [p for p in (directory / f"{name}.parquet", directory / f"{name}.csv") if os.path.lexists(p)]
    if not found:
        raise DataValidationError(
            f"dataset {name!r} not found in {str(directory)!r}: expected {name}.parquet or {name}.csv"
        )
    for path in found:
        problem = path_problem(path)
        if problem is not None:
            raise DataValidationError(f"dataset {name!r}: {str(path)!r} {problem}")
    if len(found) > 1:
        raise DataValidationError(
            f"dataset {name!r} is ambiguous in {str(directory)!r}: both {name}.parquet and {name}.csv exist; remove one"
        )
    return found[0]


def content_hash(path: str | Path) -> str:
    """xxh3-128 (hex) of the file's bytes, read in chunks so any size fits in memory."""
    digest = xxhash.xxh3_128()
    buffer = memoryview(bytearray(HASH_CHUNK_BYTES))
    with open(path, "rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            digest.update(buffer[:size])
    return str(digest.hexdigest())
