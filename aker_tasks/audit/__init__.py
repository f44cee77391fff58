"""Auditing: ask aker why something will rerun, and what differs between two runs.

``aker status`` (:func:`~aker_tasks.audit.status.status`) and ``aker runs``
(:mod:`aker_tasks.audit.runs`, :mod:`aker_tasks.audit.rundiff`); each function returns typed
data, the command line (:mod:`aker_tasks.audit.cli`) only prints it. Nothing here writes.
"""

from __future__ import annotations

__all__ = ["AuditError", "StatusReport", "diff_runs", "list_runs", "show_run", "status"]

from aker_tasks.audit.dbread import AuditError
from aker_tasks.audit.report import StatusReport
from aker_tasks.audit.rundiff import diff_runs
from aker_tasks.audit.runs import list_runs, show_run
from aker_tasks.audit.status import status
