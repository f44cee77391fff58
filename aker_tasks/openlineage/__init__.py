"""OpenLineage run events for every executed aker task: START, then COMPLETE or FAIL.

Configured the ``openlineage-python`` client's own way -- ``OPENLINEAGE_URL``, an
``openlineage.yml`` (``OPENLINEAGE_CONFIG``, the working directory or ``~/.openlineage``) or
``OPENLINEAGE__TRANSPORT__*`` variables -- and off with ``OPENLINEAGE_DISABLED=true``. When
nothing is configured nothing is sent and the client is never imported: this module is all a run
loads, so a cached run stays as light as without it.

Hooks (each a no-op unless configured, and none ever raises):

* :func:`run_started` -- from :meth:`AkerTask.recorded_run <aker_tasks.base.AkerTask.recorded_run>`,
  once the ``runs`` row exists: START with aker's run id.
* :func:`task_succeeded` -- Luigi's SUCCESS event: COMPLETE with the outputs, now final.
* :func:`task_failed` -- Luigi's FAILURE event: FAIL with the error (secrets masked); a task that
  failed before its run was recorded (e.g. a missing source file) gets a START/FAIL pair of its own.
* :func:`preload` -- Luigi's DEPENDENCY_DISCOVERED event (an incomplete task), in the scheduling
  process: loads the client before ``--workers N`` forks, so each worker does not import it again.

Tasks found complete (cached) emit nothing.

*The invocation* -- the parent run of every task event -- is one ``luigi`` command (or one
``luigi.build`` call's process): its id is made when that process imports ``aker_tasks`` and
inherited by the workers it forks. Under luigid, every ``luigi`` command that joins is an
invocation of its own; a task links to the command whose worker ran it.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import luigi

    from aker_core.run import RunContext

__all__ = [
    "INVOCATION_ID",
    "configured",
    "namespace",
    "preload",
    "run_started",
    "task_failed",
    "task_succeeded",
]

#: Job namespace when ``OPENLINEAGE_NAMESPACE`` is not set.
DEFAULT_NAMESPACE = "aker"

#: The invocation's run id: one per process that imports aker_tasks (a ``luigi`` command),
#: inherited by the workers it forks.
INVOCATION_ID = str(uuid.uuid4())


def configured() -> bool:
    """Whether the client has a transport configured (asked without importing it).

    The same places the client looks, in its order: ``OPENLINEAGE_DISABLED``, ``OPENLINEAGE__*``
    variables, an ``openlineage.yml`` (``OPENLINEAGE_CONFIG``, the working directory,
    ``~/.openlineage``) and ``OPENLINEAGE_URL``. The client's last resort -- printing to the
    console when nothing is configured -- is what aker treats as "off".
    """
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OPENLINEAGE_URL") or any(k.startswith("OPENLINEAGE__TRANSPORT") for k in os.environ):
        return True
    candidates = (
        os.environ.get("OPENLINEAGE_CONFIG"),
        os.path.join(os.getcwd(), "openlineage.yml"),
        os.path.join(os.path.expanduser("~/.openlineage"), "openlineage.yml"),
    )
    return any(path and Path(path).is_file() for path in candidates)


def namespace() -> str:
    """Job namespace: ``OPENLINEAGE_NAMESPACE`` (the client's convention), else ``aker``."""
    return os.environ.get("OPENLINEAGE_NAMESPACE", "").strip() or DEFAULT_NAMESPACE


_preloaded = False


def preload() -> None:
    """Load the client and aker's event code now (before Luigi forks workers), when configured."""
    global _preloaded
    if _preloaded or not configured():
        return
    _preloaded = True
    try:
        from aker_tasks.base import preload_runtime

        preload_runtime(("aker_tasks.openlineage.emit",))
        from aker_tasks.openlineage.emit import sender

        sender()  # its cross-worker "receiver is down" flag must exist before the fork
    except Exception:  # an optimisation only: the first event imports what it needs
        import logging

        logging.getLogger(__name__).debug("could not preload the OpenLineage client", exc_info=True)


_unloadable = False


def _emit(hook: str, *args: Any) -> None:
    """Call ``aker_tasks.openlineage.emit.<hook>``; a client that cannot be loaded is one warning, not a failure."""
    global _unloadable
    if _unloadable or not configured():
        return
    try:
        from aker_tasks.openlineage import emit
    except Exception as e:  # e.g. openlineage-python missing or broken in this environment
        import logging

        _unloadable = True
        logging.getLogger("aker_tasks.openlineage").warning(
            "OpenLineage is configured but its client cannot be loaded (%s: %s); the run carries on without events",
            type(e).__name__,
            e,
        )
        return
    getattr(emit, hook)(*args)


def run_started(task: luigi.Task, run: RunContext) -> None:
    """Emit START for ``task``'s recorded run (no-op unless configured)."""
    _emit("started", task, run)


def task_succeeded(task: luigi.Task) -> None:
    """Emit COMPLETE for ``task`` if this process sent its START (no-op otherwise)."""
    _emit("completed", task)


def task_failed(task: luigi.Task, error: BaseException) -> None:
    """Emit FAIL with ``error`` for ``task`` (and START first if none was sent)."""
    _emit("failed", task, error)
