"""Building and sending the START / COMPLETE / FAIL events of aker's task runs.

Only imported when OpenLineage is configured (see :mod:`aker_tasks.openlineage`). Every public
function here swallows its own errors: lineage is for watching, never a reason to fail a run.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import traceback
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    JobFacet,
    RunFacet,
    error_message_run,
    job_type_job,
    parent_run,
    processing_engine_run,
)

from aker_tasks.openlineage import INVOCATION_ID, namespace
from aker_tasks.openlineage.datasets import input_datasets, output_datasets
from aker_tasks.openlineage.facets import PRODUCER, AkerRunFacet, AkerSourceCodeJobFacet, aker_version
from aker_tasks.openlineage.sender import Sender

if TYPE_CHECKING:
    import luigi

    from aker_core.run import RunContext

__all__ = ["INVOCATION_JOB", "completed", "failed", "job_name", "ol_run_id", "sender", "started"]

logger = logging.getLogger("aker_tasks.openlineage")

#: Job name of the invocation (one ``luigi`` command), the parent of every task run.
INVOCATION_JOB = "luigi"
#: Parameters that vary between runs of one job (when, and with which weights), or name the
#: whole configuration: they are in the ``aker_run`` facet, not in the job name.
RUN_PARAMS = ("config", "as_of", "weights")
#: A UUID namespace for run ids derived from aker run ids that are not UUIDs themselves.
AKER_RUN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://aker.invalid/runs")


@dataclass
class _Started:
    run_id: str
    job: Job
    run_facets: dict[str, RunFacet]


_open: dict[str, _Started] = {}
_sender: Sender | None = None


def _describe_destination() -> str:
    """Where events go, for the one warning line (credentials stripped)."""
    from aker_core.redact import strip_url_credentials

    if os.environ.get("OPENLINEAGE_URL"):
        return strip_url_credentials(os.environ["OPENLINEAGE_URL"])[0]
    kind = os.environ.get("OPENLINEAGE__TRANSPORT__TYPE")
    if kind:
        return f"the {kind} transport"
    return os.environ.get("OPENLINEAGE_CONFIG") or "the transport of openlineage.yml"


def _make_client() -> Any:
    from openlineage.client import OpenLineageClient

    return OpenLineageClient()


def sender() -> Sender:
    """This invocation's :class:`Sender` (made once; forked workers inherit it)."""
    global _sender
    if _sender is None:
        _sender = Sender(_make_client, _describe_destination)
    return _sender


def ol_run_id(aker_run_id: str) -> str:
    """aker's run id when it is a UUID (it is: ``uuid4``), else a UUID derived from it, stably."""
    try:
        return str(uuid.UUID(aker_run_id))
    except ValueError:
        return str(uuid.uuid5(AKER_RUN_NAMESPACE, aker_run_id))


def job_name(task: luigi.Task) -> str:
    """``Family`` plus the parameters that say *what* it computes, e.g. ``FetchSource.market_jobs``."""
    params = task.to_str_params(only_significant=True)
    return ".".join([task.get_task_family(), *(v for k, v in params.items() if k not in RUN_PARAMS)])


def _job(task: luigi.Task, git_sha: str, git_dirty: bool | None) -> Job:
    from aker_tasks.hashing import code_version

    modules = tuple(getattr(task, "code_modules", ()))
    facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="LUIGI", jobType="TASK", producer=PRODUCER
        ),
        "aker_sourceCode": AkerSourceCodeJobFacet(
            gitSha=git_sha,
            gitDirty=git_dirty,
            codeVersion=code_version(*modules) if modules else None,
            codeModules=list(modules),
            producer=PRODUCER,
        ),
    }
    return Job(namespace=namespace(), name=job_name(task), facets=facets)


def _run_facets(task: luigi.Task, aker_run_id: str | None, run: RunContext | None) -> dict[str, RunFacet]:
    import luigi

    invocation = namespace()
    facets: dict[str, RunFacet] = {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=INVOCATION_ID),
            job=parent_run.Job(namespace=invocation, name=INVOCATION_JOB),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=INVOCATION_ID),
                job=parent_run.RootJob(namespace=invocation, name=INVOCATION_JOB),
            ),
            producer=PRODUCER,
        ),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=str(getattr(luigi, "__version__", "unknown")),
            name="luigi",
            openlineageAdapterVersion=aker_version(),
            producer=PRODUCER,
        ),
    }
    if aker_run_id is not None:
        params = {k: v for k, v in task.to_str_params(only_significant=True).items() if k != "config"}
        facets["aker_run"] = AkerRunFacet(
            akerRunId=aker_run_id,
            taskFamily=task.get_task_family(),
            taskId=task.task_id,
            params=params,
            configHash=run.config_hash if run is not None else None,
            seed=run.seed if run is not None else None,
            host=socket.gethostname(),
            pid=os.getpid(),
            producer=PRODUCER,
        )
    return facets


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _event(
    state: RunState, started: _Started, task: luigi.Task, *, final: bool, extra: dict[str, RunFacet]
) -> RunEvent:
    def safely(build: Any) -> list[Any]:
        try:
            return list(build())
        except Exception:  # e.g. a failed task whose source is missing: the event goes without
            logger.debug("OpenLineage: datasets of %s unavailable", task.task_id, exc_info=True)
            return []

    return RunEvent(
        eventType=state,
        eventTime=_now(),
        run=Run(runId=started.run_id, facets={**started.run_facets, **extra}),
        job=started.job,
        inputs=safely(lambda: input_datasets(task, final=final)),
        outputs=safely(lambda: output_datasets(task, final=final)),
        producer=PRODUCER,
    )


def _bug(task: luigi.Task, what: str) -> None:
    logger.warning("OpenLineage: could not build the %s event of %s; the run carries on", what, task.task_id)
    logger.debug("OpenLineage event error", exc_info=True)


def started(task: luigi.Task, run: RunContext) -> None:
    """Send START for ``task``'s recorded ``run`` and remember it for COMPLETE/FAIL."""
    try:
        record = _Started(
            run_id=ol_run_id(run.id),
            job=_job(task, run.git_sha, run.git_dirty),
            run_facets=_run_facets(task, run.id, run),
        )
        _open[task.task_id] = record
        sender().send(_event(RunState.START, record, task, final=False, extra={}))
    except Exception:
        _bug(task, "START")


def completed(task: luigi.Task) -> None:
    """Send COMPLETE for ``task`` if its START was sent here, and wait (bounded) for delivery."""
    record = _open.pop(task.task_id, None)
    if record is None:  # found complete, or built by another worker: no run of ours
        return
    try:
        sender().send(_event(RunState.COMPLETE, record, task, final=True, extra={}))
    except Exception:
        _bug(task, "COMPLETE")
    sender().flush()


def _error_facet(error: BaseException) -> error_message_run.ErrorMessageRunFacet:
    """The error, secrets masked; aker's own (user) errors without the traceback, as on stderr."""
    from aker_core.config import get_settings
    from aker_core.exceptions import AkerError
    from aker_core.redact import Redactor, secret_values

    try:
        mask = Redactor(secret_values(get_settings()))
    except Exception:  # settings unreadable: still mask inline credentials
        mask = Redactor()
    trace = None if isinstance(error, AkerError) else "".join(traceback.format_exception(error))
    return error_message_run.ErrorMessageRunFacet(
        message=mask(f"{type(error).__name__}: {error}"),
        programmingLanguage="python",
        stackTrace=mask(trace) if trace else None,
        producer=PRODUCER,
    )


def failed(task: luigi.Task, error: BaseException) -> None:
    """Send FAIL for ``task`` -- after a START of its own when it failed before its run was recorded."""
    try:
        record = _open.pop(task.task_id, None)
        if record is None:
            from aker_core.gitinfo import git_info

            info = git_info()
            record = _Started(
                run_id=str(uuid.uuid4()),
                job=_job(task, info.sha, info.dirty),
                run_facets=_run_facets(task, None, None),
            )
            sender().send(_event(RunState.START, record, task, final=False, extra={}))
        sender().send(_event(RunState.FAIL, record, task, final=False, extra={"errorMessage": _error_facet(error)}))
    except Exception:
        _bug(task, "FAIL")
    sender().flush()
