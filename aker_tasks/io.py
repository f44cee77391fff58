"""Writing task outputs: deterministic parquet (or Arrow IPC) through the target's temporary path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from aker_tasks.targets import ARROW, CacheTarget, atomic_path

__all__ = ["ARROW", "read_arrow", "read_parquet", "schema_doc", "write_arrow", "write_parquet"]


def write_parquet(target: CacheTarget, table: pa.Table) -> None:
    """Write ``table`` atomically: a temporary file renamed into place only when complete.

    The writer options are fixed so the same table always gives byte-identical files. Cache
    targets are uncompressed: measured on 100k markets, reading is 3x and writing 1.5x faster
    than zstd for a third more bytes, and every target is read again by the next task.
    """
    with atomic_path(target, replace_different=True) as tmp:
        pq.write_table(table, tmp, compression="none", use_dictionary=False, write_statistics=True)


def read_parquet(target: CacheTarget) -> pa.Table:
    """Read a target's parquet file.

    Through :class:`pyarrow.parquet.ParquetFile`: ``pq.read_table`` would load
    ``pyarrow.dataset`` (~25 ms) in every worker for no gain on a single file.
    """
    with pq.ParquetFile(target.path) as source:
        return source.read()


def schema_doc(schema: pa.Schema) -> list[dict[str, Any]]:
    """A JSON-safe description of an Arrow schema for sidecars."""
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]


def write_arrow(target: CacheTarget, table: pa.Table) -> None:
    """Write ``table`` atomically as an uncompressed Arrow IPC file (one record batch per chunk).

    For a table read many times in part (:class:`~aker_tasks.vintages.SourceVintages`, cut once
    per date): :func:`read_arrow` maps it instead of decoding it, so a reader pays only for the
    rows it takes. The same table gives the same bytes.
    """
    with (
        atomic_path(target, replace_different=True) as tmp,
        pa.OSFile(tmp, "wb") as sink,
        pa.ipc.new_file(sink, table.schema) as writer,
    ):
        writer.write_table(table)


def read_arrow(path: str | Path) -> pa.Table:
    """An Arrow IPC file, memory-mapped: no copy until columns are taken from (zero-copy read)."""
    with pa.ipc.open_file(pa.memory_map(str(path))) as source:
        return source.read_all()
