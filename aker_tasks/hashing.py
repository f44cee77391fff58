"""Content hashes, code versions and library versions (the cache key itself: :mod:`aker_tasks.cachekey`).

Kept free of pyarrow and SQLAlchemy: a fully cached rerun only hashes source files, reads
sidecars and builds keys, and must not pay for importing what it does not use.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import xxhash

from aker_core.sources.location import content_hash

__all__ = ["HASH_PREFIX", "RESULT_LIBRARIES", "code_version", "file_hash", "hash_bytes", "library_versions"]

#: Every content hash carries its algorithm so a later change of algorithm cannot collide.
HASH_PREFIX = "xxh3_128:"

# (path, size, mtime_ns, inode) -> hash: Luigi asks for completeness several times per run.
_file_hashes: dict[tuple[str, int, int, int], str] = {}


def hash_bytes(data: bytes) -> str:
    """``xxh3_128:<hex>`` of ``data``."""
    return HASH_PREFIX + xxhash.xxh3_128_hexdigest(data)


def file_hash(path: str | os.PathLike[str]) -> str:
    """``xxh3_128:<hex>`` of a file's bytes, streamed, memoised per (path, size, mtime, inode)."""
    st = os.stat(path)
    memo = (os.fspath(path), st.st_size, st.st_mtime_ns, st.st_ino)
    cached = _file_hashes.get(memo)
    if cached is not None:
        return cached
    digest = HASH_PREFIX + content_hash(os.fspath(path))
    _file_hashes[memo] = digest
    return digest


@lru_cache(maxsize=64)
def code_version(*modules: str) -> str:
    """Hash of the source files of ``modules`` or packages (found without importing them).

    A task's code version changes whenever the logic that computes its result changes, even
    by a comment: rerunning too often is cheap, a stale result is not.
    """
    h = xxhash.xxh3_128()
    for name in sorted(modules):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"code_version: module {name!r} not found")
        # A package stands for every module in it.
        files = (
            sorted(Path(spec.origin).parent.glob("*.py")) if spec.submodule_search_locations else [Path(spec.origin)]
        )
        for f in files:
            h.update(f"{name}/{f.name}".encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


#: Distributions whose version can change a result's bytes (Arrow's readers, writers and compute
#: kernels; numpy under them; Luigi's parameter parsing; SQLAlchemy reading database sources and
#: writing publications). Their versions and Python's enter every task's code version.
RESULT_LIBRARIES: tuple[str, ...] = ("pyarrow", "numpy", "luigi", "sqlalchemy")


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Versions of :data:`RESULT_LIBRARIES` and of Python, from package metadata (nothing imported)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {}
    for name in RESULT_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    found["python"] = platform.python_version()
    return found
