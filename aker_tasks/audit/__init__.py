"""Auditing: ask aker why something will rerun, what differs between two runs, where a published
score came from, and what the cache may drop.

``aker status`` (:func:`~aker_tasks.audit.status.status`), ``aker runs``
(:mod:`aker_tasks.audit.runs`, :mod:`aker_tasks.audit.rundiff`), ``aker trace``
(:mod:`aker_tasks.audit.trace`) and ``aker gc`` (:mod:`aker_tasks.audit.gc`); each function returns
typed data, the command line only prints it. Only ``gc`` (and ``trace --restore``) writes.
"""

from __future__ import annotations

__all__ = ["AuditError", "StatusReport", "diff_runs", "list_runs", "show_run", "status"]

from aker_tasks.audit.dbread import AuditError
from aker_tasks.audit.report import StatusReport
from aker_tasks.audit.rundiff import diff_runs
from aker_tasks.audit.runs import list_runs, show_run
from aker_tasks.audit.status import status
