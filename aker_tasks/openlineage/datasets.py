"""The datasets of an aker run, named by their location, with schema, row-count and content facets.

Naming follows OpenLineage's conventions so that other producers' events about the same data
join up: a file is namespace ``file`` and its absolute path (cache targets, local sources); a
PostgreSQL table is ``postgres://HOST:PORT`` and ``DATABASE.SCHEMA.TABLE``; an SQLite table is
``sqlite://`` plus the database file's absolute path, and the table. Database names come from
the host, port and database of the DSN only: never a user or password.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import (
    DatasetFacet,
    InputDatasetFacet,
    OutputDatasetFacet,
    input_statistics_input_dataset,
    output_statistics_output_dataset,
    schema_dataset,
)

from aker_tasks.openlineage.facets import (
    PRODUCER,
    AkerContentHashDatasetFacet,
    AkerDataVintageInputDatasetFacet,
)
from aker_tasks.publication import PublishedScores
from aker_tasks.targets import CacheTarget

if TYPE_CHECKING:
    import luigi

__all__ = ["input_datasets", "output_datasets", "table_location"]

#: The column whose range the ``aker_dataVintage`` facet reports.
VINTAGE_COLUMN = "data_vintage"
PUBLISHED_TABLE = "pillar_scores"


def table_location(url: str, table: str) -> tuple[str, str]:
    """OpenLineage ``(namespace, name)`` of ``table`` in the database at ``url`` (no credentials)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ":memory:"
        return f"sqlite://{os.path.abspath(database) if database != ':memory:' else database}", table
    host = parsed.host or "localhost"
    if backend == "postgresql":
        options = str(parsed.query.get("options", ""))
        match = re.search(r"search_path\s*=\s*([^\s,]+)", options)
        schema = match.group(1) if match else "public"
        return f"postgres://{host}:{parsed.port or 5432}", f"{parsed.database}.{schema}.{table}"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{backend}://{host}{port}", f"{parsed.database}.{table}"


def _schema_facet(schema: list[dict[str, Any]] | None) -> dict[str, DatasetFacet]:
    if not schema:
        return {}
    fields = [schema_dataset.SchemaDatasetFacetFields(name=str(f["name"]), type=str(f["type"])) for f in schema]
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER)}


def _vintage_facet(parquet: Path) -> dict[str, InputDatasetFacet]:
    """``aker_dataVintage`` of a parquet (or Arrow IPC) file with a ``data_vintage`` column, else nothing."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if parquet.suffix == ".arrow":  # SourceVintages' table (aker_tasks.io.write_arrow)
        from aker_tasks.io import read_arrow

        table = read_arrow(parquet)
        if VINTAGE_COLUMN not in table.column_names:
            return {}
        column = table[VINTAGE_COLUMN]
    else:
        with pq.ParquetFile(parquet) as source:
            if VINTAGE_COLUMN not in source.schema_arrow.names:
                return {}
            column = source.read(columns=[VINTAGE_COLUMN])[VINTAGE_COLUMN]
    bounds = pc.min_max(column).as_py()
    if bounds["min"] is None:
        return {}
    return {
        "aker_dataVintage": AkerDataVintageInputDatasetFacet(
            minDataVintage=bounds["min"].isoformat(), maxDataVintage=bounds["max"].isoformat(), producer=PRODUCER
        )
    }


def _content(hash_: str | None, where: str | None = None) -> dict[str, DatasetFacet]:
    if not hash_:
        return {}
    return {"aker_contentHash": AkerContentHashDatasetFacet(contentHash=hash_, where=where, producer=PRODUCER)}


def _sidecar(target: CacheTarget) -> dict[str, Any]:
    try:
        return target.sidecar() if target.exists() else {}
    except Exception:  # a damaged sidecar: name the dataset, without facets
        return {}


def _file_input(target: CacheTarget, final: bool) -> InputDataset:
    meta = _sidecar(target)
    input_facets: dict[str, InputDatasetFacet] = {}
    if meta and final:
        input_facets["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
            rowCount=meta.get("rows"), size=meta.get("bytes"), producer=PRODUCER
        )
        if target.content_type.endswith("parquet"):
            input_facets.update(_vintage_facet(target.file))
    return InputDataset(
        namespace="file",
        name=os.path.abspath(target.path),
        facets={**_schema_facet(meta.get("schema")), **_content(meta.get("content_hash"))},
        inputFacets=input_facets,
    )


def _published(target: PublishedScores) -> dict[str, DatasetFacet]:
    from aker_data.models import PillarScore

    columns = [{"name": c.name, "type": str(c.type)} for c in PillarScore.__table__.columns]
    return {**_schema_facet(columns), **_content(target.publication, f"score_as_of = {target.as_of.isoformat()}")}


def _source_input(task: luigi.Task, fetched: CacheTarget | None, final: bool) -> InputDataset:
    """A FetchSource's source: the file or database table it read, described by what it kept."""
    from aker_core.sources.location import DATABASE_SOURCE
    from aker_tasks.fetch import source_hash, source_path

    settings = task.settings  # type: ignore[attr-defined]
    dataset = str(task.dataset)  # type: ignore[attr-defined]
    size = None
    if settings.source_uri == DATABASE_SOURCE:
        namespace, name = table_location(settings.database_url, dataset)
    else:
        path = source_path(settings, dataset)
        namespace, name, size = "file", os.path.abspath(path), path.stat().st_size
    meta = _sidecar(fetched) if fetched is not None and final else {}
    input_facets: dict[str, InputDatasetFacet] = {}
    if meta:
        input_facets["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
            rowCount=meta.get("rows_in"), size=size, producer=PRODUCER
        )
        assert fetched is not None
        input_facets.update(_vintage_facet(fetched.file))
    return InputDataset(
        namespace=namespace,
        name=name,
        # The columns aker reads from the source, with the types they were validated as.
        facets={**_schema_facet(meta.get("schema")), **_content(source_hash(settings, dataset))},
        inputFacets=input_facets,
    )


def input_datasets(task: luigi.Task, *, final: bool) -> list[InputDataset]:
    """What ``task`` reads: its source (FetchSource) or its upstream targets and publication.

    Statistics and data vintages (which read the data) only with ``final``: COMPLETE carries them.
    """
    from aker_tasks.fetch import FetchSource
    from aker_tasks.vintages import SourceVintages

    if isinstance(task, FetchSource | SourceVintages):
        out = task.output()
        return [_source_input(task, out if isinstance(out, CacheTarget) else None, final)]
    found: list[InputDataset] = []
    for target in task._named_inputs().values():  # type: ignore[attr-defined]
        if isinstance(target, CacheTarget):
            found.append(_file_input(target, final))
        elif isinstance(target, PublishedScores):
            namespace, name = table_location(target.url, PUBLISHED_TABLE)
            found.append(InputDataset(namespace=namespace, name=name, facets=_published(target)))
    return found


def output_datasets(task: luigi.Task, *, final: bool) -> list[OutputDataset]:
    """What ``task`` writes; with ``final`` (after it ran) with schema, row count and content hash."""
    target = task.output()
    if isinstance(target, CacheTarget):
        meta = _sidecar(target) if final else {}
        output_facets: dict[str, OutputDatasetFacet] = {}
        if meta:
            output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=meta.get("rows"), size=meta.get("bytes"), fileCount=1, producer=PRODUCER
            )
        return [
            OutputDataset(
                namespace="file",
                name=os.path.abspath(target.path),
                facets={**_schema_facet(meta.get("schema")), **_content(meta.get("content_hash"))},
                outputFacets=output_facets,
            )
        ]
    if isinstance(target, PublishedScores):
        namespace, name = table_location(target.url, PUBLISHED_TABLE)
        stats = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=target.rows, producer=PRODUCER
        )
        return [
            OutputDataset(
                namespace=namespace,
                name=name,
                facets=_published(target) if final else {},
                outputFacets={"outputStatistics": stats} if final else {},
            )
        ]
    return []
