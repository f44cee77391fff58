"""aker's custom OpenLineage facets (the ``aker_*`` keys), each with a JSON Schema in ``schemas/``.

The standard facets say what OpenLineage knows how to say (schema, row counts, parent run,
error); these carry what makes an aker result provable: aker's run record, the exact code, the
content hash of each dataset and the data vintages a result was computed from.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import attr
from openlineage.client.facet_v2 import DatasetFacet, InputDatasetFacet, JobFacet, RunFacet

__all__ = [
    "PRODUCER",
    "SCHEMA_BASE",
    "AkerContentHashDatasetFacet",
    "AkerDataVintageInputDatasetFacet",
    "AkerRunFacet",
    "AkerSourceCodeJobFacet",
    "aker_version",
]

#: Where aker's facet schemas are named. ``.invalid`` never resolves: the schemas themselves
#: ship in the package (``aker_tasks/openlineage/schemas``), with these ids.
SCHEMA_BASE = "https://aker.invalid/openlineage/facets/1-0-0/"


def aker_version() -> str:
    """The installed aker distribution's version."""
    try:
        return version("aker")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


#: The ``producer`` of every event and facet aker emits.
PRODUCER = f"https://aker.invalid/aker/{aker_version()}"


def _schema(name: str) -> str:
    return f"{SCHEMA_BASE}{name}.json#/$defs/{name}"


@attr.define
class AkerRunFacet(RunFacet):
    """``aker_run``: aker's own record of the run (the ``runs`` row it can be looked up by)."""

    akerRunId: str
    """aker's run id (``runs.run_id``); the OpenLineage runId is this id, or derived from it."""
    taskFamily: str
    taskId: str
    params: dict[str, str]
    """The task's significant parameters (as_of, weights, dataset, ...)."""
    configHash: str | None = attr.field(default=None)
    seed: int | None = attr.field(default=None)
    host: str | None = attr.field(default=None)
    pid: int | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return _schema("AkerRunFacet")


@attr.define
class AkerSourceCodeJobFacet(JobFacet):
    """``aker_sourceCode``: the code that ran: git commit, dirty flag, aker's code version of the task."""

    gitSha: str
    gitDirty: bool | None = attr.field(default=None)
    codeVersion: str | None = attr.field(default=None)
    """Hash of the task's logic modules (the code part of its cache key)."""
    codeModules: list[str] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return _schema("AkerSourceCodeJobFacet")


@attr.define
class AkerContentHashDatasetFacet(DatasetFacet):
    """``aker_contentHash``: the exact content read or written (``xxh3_128:...``; a publication id for a table)."""

    contentHash: str
    where: str | None = attr.field(default=None)
    """For a table: the rows this hash covers (e.g. ``score_as_of = 2024-06-01``)."""

    @staticmethod
    def _get_schema() -> str:
        return _schema("AkerContentHashDatasetFacet")


@attr.define
class AkerDataVintageInputDatasetFacet(InputDatasetFacet):
    """``aker_dataVintage``: oldest and newest ``data_vintage`` of the rows the run used."""

    minDataVintage: str
    maxDataVintage: str

    @staticmethod
    def _get_schema() -> str:
        return _schema("AkerDataVintageInputDatasetFacet")
