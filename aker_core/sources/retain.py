"""Retained sources: the exact bytes each fetch read, kept content-addressed under the cache.

A fetch records its source file's content hash in its lineage and sidecar. Once the user edits or
deletes that file, the hash alone proves nothing: :func:`retain` therefore keeps the bytes at
``<cache_path>/sources/<h[:2]>/<h>.<ext>`` (``h`` the hex of the xxh3-128 hash, ``ext`` the
source's own suffix, so the copy is read exactly as the source was), written atomically
(temporary name, fsync, rename) and only after its bytes were hashed and found equal to the
hash the fetch recorded.

**Why no hard link.** A hard link shares the source's inode: every tool that rewrites a file *in
place* -- Python's ``open(path, "w")``, pandas' ``to_csv``, a shell ``>`` redirect, vim (which
writes in place precisely when a file has several links) -- would silently change the retained
copy too, destroying the evidence exactly when it is needed. So the copy is a copy-on-write clone
(``FICLONE``: btrfs, XFS, bcachefs; as cheap as a link, yet a later write to either file leaves
the other alone) where the file system can make one, and a plain copy otherwise.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path

from aker_core.exceptions import DataValidationError
from aker_core.sources.location import content_hash

__all__ = ["HASH_ALGORITHM", "RETAINED_DIR", "find_retained", "retain", "retained_path", "verify_retained"]

#: Subdirectory of the cache holding retained sources.
RETAINED_DIR = "sources"
#: The algorithm prefix of the hashes aker records (``xxh3_128:<hex>``), the one :func:`content_hash` computes.
HASH_ALGORITHM = "xxh3_128"
#: ``ioctl(dest, FICLONE, source)``: share the source's blocks copy-on-write (linux/fs.h).
FICLONE = 0x40049409


def _hex(recorded_hash: str) -> str:
    algorithm, _, digest = recorded_hash.partition(":")
    if algorithm != HASH_ALGORITHM or not digest or not all(c in "0123456789abcdef" for c in digest):
        raise DataValidationError(f"cannot retain a source by hash {recorded_hash!r}: expected {HASH_ALGORITHM}:<hex>")
    return digest


def retained_path(cache_path: Path, recorded_hash: str, suffix: str) -> Path:
    """Where the source with ``recorded_hash`` (``xxh3_128:<hex>``) and file ``suffix`` is kept."""
    digest = _hex(recorded_hash)
    return Path(cache_path) / RETAINED_DIR / digest[:2] / f"{digest}{suffix.lower()}"


def find_retained(cache_path: Path, recorded_hash: str) -> Path | None:
    """The retained copy of the source with ``recorded_hash``, whatever its suffix; ``None`` if none."""
    digest = _hex(recorded_hash)
    folder = Path(cache_path) / RETAINED_DIR / digest[:2]
    for candidate in sorted(folder.glob(f"{digest}.*")) if folder.is_dir() else ():
        if candidate.is_file() and candidate.suffix in (".csv", ".parquet"):
            return candidate
    return None


def verify_retained(path: Path, recorded_hash: str) -> bool:
    """Whether ``path``'s bytes still hash to ``recorded_hash`` (a damaged copy proves nothing)."""
    try:
        return content_hash(path) == _hex(recorded_hash)
    except OSError:
        return False


def _clone_or_copy(source: Path, dest: Path) -> None:
    """``dest`` = the bytes of ``source``: a copy-on-write clone where possible, else a copy."""
    try:
        import fcntl

        with open(source, "rb") as src, open(dest, "wb") as dst:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
        return
    except (ImportError, OSError) as e:
        # No reflinks here (ext4, tmpfs, another file system, not Linux): copy. Anything else
        # (no permission, no space) fails the copy below with the real reason.
        if isinstance(e, OSError) and e.errno not in (
            errno.EOPNOTSUPP,
            errno.ENOTTY,
            errno.EXDEV,
            errno.EINVAL,
            errno.ENOSYS,
            errno.EBADF,
            errno.EPERM,
        ):
            raise
    shutil.copyfile(source, dest)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def retain(source: Path, recorded_hash: str, cache_path: Path) -> Path:
    """Keep the bytes of ``source`` under the cache, if they still hash to ``recorded_hash``.

    Idempotent: an existing retained copy whose bytes match is kept as it is; a damaged one is
    replaced.

    Args:
        source: the source file the fetch read.
        recorded_hash: the content hash the fetch recorded (``xxh3_128:<hex>``).
        cache_path: ``AKER_CACHE_PATH``.

    Returns:
        The retained copy.

    Raises:
        DataValidationError: ``source`` no longer holds the recorded bytes (changed since it was
            read), or cannot be copied (naming the file and the reason).
    """
    source = Path(source)
    dest = retained_path(cache_path, recorded_hash, source.suffix)
    if dest.is_file() and verify_retained(dest, recorded_hash):
        return dest
    tmp = dest.with_name(f".{dest.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _clone_or_copy(source, tmp)
        if not verify_retained(tmp, recorded_hash):
            raise DataValidationError(
                f"source {str(source)!r} no longer holds the bytes that were read ({recorded_hash}): "
                "it changed while it was read; run again"
            )
        _fsync(tmp)
        os.replace(tmp, dest)  # atomic: the name only ever shows verified bytes
        _fsync(dest.parent)
    except OSError as e:
        raise DataValidationError(
            f"cannot keep a copy of source {str(source)!r} in {str(dest.parent)!r}: {e.strerror or e} "
            "(set AKER_RETAIN_SOURCES=false to keep none)"
        ) from e
    finally:
        tmp.unlink(missing_ok=True)
    return dest
