"""aker's Luigi defaults, loaded from inside the package so they apply from any directory.

``import aker_tasks`` (which ``luigi --module aker_tasks`` does before it reads ``[retcode]``
or ``[core]``) puts :data:`CONFIG_PATH` *first* in Luigi's configuration search path: the
user's ``/etc/luigi/luigi.cfg``, ``./luigi.cfg`` and ``LUIGI_CONFIG_PATH`` are read after it and
override any value.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import luigi

__all__ = [
    "CONFIG_PATH",
    "OneLineErrors",
    "count_work_of_other_workers",
    "report_errors_in_one_line",
    "require_scheduler",
    "retry_failed_dependency",
    "use_packaged_config",
]

#: aker's Luigi defaults (``[core]``, ``[worker]``, ``[scheduler]``, ``[retcode]``).
CONFIG_PATH = Path(__file__).resolve().with_name("luigi.cfg")


def use_packaged_config() -> None:
    """Read :data:`CONFIG_PATH` before every other Luigi configuration file (idempotent)."""
    from luigi.configuration import LuigiConfigParser

    path = str(CONFIG_PATH)
    if path in LuigiConfigParser._config_paths:
        return
    LuigiConfigParser._config_paths.insert(0, path)
    # Re-reads every file in order, so the user's files, read after ours, still win.
    LuigiConfigParser.reload()


def _completed_elsewhere(task: luigi.Task) -> bool:
    try:
        return bool(task.complete())
    except Exception:  # an unanswerable check is not evidence of success
        return False


#: Summary categories of tasks this worker did not finish itself; the ones complete now were
#: finished by another worker (or a concurrent run) and count as done.
_NOT_FINISHED_HERE = (
    "run_by_other_worker",
    "upstream_run_by_other_worker",
    "not_run",
    "upstream_failure",
    "still_pending_not_ext",
)


def _summary_dict(worker: Any) -> dict[str, set[luigi.Task]]:
    """Luigi's summary, with tasks another worker completed counted as done.

    Luigi's ``[retcode]`` reads the execution summary, which only knows what *this* worker ran:
    a task another worker of the same run completed lands in "run by other worker" or "not
    granted run permission", so every worker but one of a fully successful multi-worker run
    would exit non-zero. A task that is complete now (a pure check of its targets) is done,
    whoever ran it; anything still incomplete keeps its category and its non-zero exit code.
    """
    tasks = _luigi_summary_dict(worker)
    for status in _NOT_FINISHED_HERE:
        done = {task for task in tasks.get(status, set()) if _completed_elsewhere(task)}
        if done:
            tasks[status] -= done
            tasks["already_done"] |= done
    return tasks


def count_work_of_other_workers() -> None:
    """Make Luigi's execution summary and ``[retcode]`` count work other workers completed (once)."""
    global _luigi_summary_dict
    import luigi.execution_summary as summary

    if getattr(summary._summary_dict, "__module__", "") == __name__:
        return
    _luigi_summary_dict = summary._summary_dict
    summary._summary_dict = _summary_dict


_luigi_summary_dict: Any = None


def _cli_scheduler_url(argv: list[str]) -> str | None:
    """The luigid URL a ``luigi`` command line will talk to; ``None`` when it will not (local)."""
    import argparse

    from luigi.configuration import get_config

    # Only the `luigi` command (or `python -m luigi`): not pytest, not a user's own program.
    program = Path(argv[0]) if argv else Path()
    if program.name != "luigi" and not (program.name == "__main__.py" and program.parent.name == "luigi"):
        return None
    parser = argparse.ArgumentParser(add_help=False)
    for flag in ("--local-scheduler", "--help", "-h", "--help-all"):
        parser.add_argument(flag, action="store_true")
    for option in ("--scheduler-url", "--scheduler-host", "--scheduler-port"):
        parser.add_argument(option)
    args, _ = parser.parse_known_args(argv[1:])
    config = get_config()
    if args.local_scheduler or args.help or args.h or args.help_all:
        return None
    if config.getboolean("core", "local_scheduler", False):
        return None
    url = args.scheduler_url or config.get("core", "scheduler_url", "")
    if url:
        return str(url).rstrip("/") + "/"
    host = args.scheduler_host or config.get("core", "scheduler_host", "localhost")
    port = args.scheduler_port or config.get("core", "scheduler_port", "8082")
    return f"http://{host}:{port}/"


#: How long the start-up check waits for luigid before giving up.
SCHEDULER_PROBE_SECONDS = 3.0


def require_scheduler(argv: list[str] | None = None) -> None:
    """Under the ``luigi`` command without ``--local-scheduler``: fail in seconds when no luigid answers.

    Luigi itself retries its first request for about a minute and then prints tracebacks; a
    user who simply forgot to start luigid wants one line saying what to do.

    Raises:
        SystemExit: with ``[retcode] scheduling_error`` when the scheduler does not answer.
    """
    import sys
    import urllib.error
    import urllib.request

    url = _cli_scheduler_url(sys.argv if argv is None else argv)
    if url is None:
        return
    try:
        with urllib.request.urlopen(url, timeout=SCHEDULER_PROBE_SECONDS):
            return
    except urllib.error.HTTPError:
        return  # it answered: a scheduler is there
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
    from luigi.configuration import get_config

    code = get_config().getint("retcode", "scheduling_error", 35)
    print(
        f"aker: no luigi scheduler answers at {url} ({reason}). Start one with `aker luigid` "
        "(aker's scheduler settings, UI and task history on 127.0.0.1:8082), or add --local-scheduler "
        "to run in this process only.",
        file=sys.stderr,
    )
    raise SystemExit(code)


class OneLineErrors(logging.Filter):
    """Luigi's error records for aker's own errors: one line with the message, no traceback.

    An :class:`~aker_core.exceptions.AkerError` is a problem with the user's data, settings or
    command line, already phrased to name the file/column/row or setting; its traceback helps
    nobody but a developer, so it goes to aker's debug log. An aker error escaping Luigi's
    scheduling ("Uncaught exception", e.g. an invalid setting) is a configuration error: one line
    and exit code 2, as for an invalid command-line value. Anything else keeps its traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        from aker_core.exceptions import AkerError

        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, AkerError):
            return True
        logging.getLogger("aker_tasks").debug("traceback of: %s", record.getMessage(), exc_info=record.exc_info)
        if record.getMessage().startswith("Uncaught exception"):
            import sys

            print(f"aker: {error}", file=sys.stderr)
            raise SystemExit(2)
        record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        return True


def report_errors_in_one_line() -> None:
    """Install :class:`OneLineErrors` on Luigi's ``luigi-interface`` logger (once)."""
    interface = logging.getLogger("luigi-interface")
    if not any(isinstance(f, OneLineErrors) for f in interface.filters):
        interface.addFilter(OneLineErrors())


_remote: dict[int, Any] = {}


def _remote_scheduler() -> Any:
    """The luigid client of this ``luigi`` command, or ``None`` (``--local-scheduler``, or not the CLI).

    A fresh local scheduler has nothing disabled; Python callers of ``luigi.build`` against a
    luigid re-enable failed tasks themselves (or in the UI).
    """
    import os
    import sys

    if os.getpid() not in _remote:
        from luigi.rpc import RemoteScheduler

        url = _cli_scheduler_url(sys.argv)
        _remote[os.getpid()] = RemoteScheduler(url) if url else None
    return _remote[os.getpid()]


def retry_failed_dependency(_task: luigi.Task, dependency: luigi.Task) -> None:
    """A new run retries what an earlier run failed: re-enable the task in luigid as it is scheduled.

    luigid disables a task at its first failure (``[scheduler] retry_count = 1``): that is what
    lets the other keep-alive workers of the failing run stop waiting for it and exit. The
    disable lasts (``disable_persist``) beyond any run, so a worker of *that* run, still busy
    with other tasks, never picks the failed task up again; the next command that schedules it
    asks luigid to re-enable it (what the UI's *Re-enable* button does) before adding it.
    """
    scheduler = _remote_scheduler()
    if scheduler is None:
        return
    try:
        scheduler.re_enable_task(dependency.task_id)
    except Exception:  # luigid unreachable: the scheduling that follows reports it
        logging.getLogger("aker_tasks").debug("could not re-enable %s", dependency.task_id, exc_info=True)
