"""``aker status`` and ``aker runs``: argument parsing and printing (the answers come from the API).

Exit codes: 0 the command answered (whatever the answer); with ``status --exit-code``, 1 when a
task is stale or missing or the publication is not current; 2 an unusable value (date,
weights, unknown or ambiguous run id, too few runs to compare); 3 the run database cannot be
read (``aker runs``; ``aker status`` reports it as a line instead).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aker_tasks.audit.report import Cause, StatusReport
    from aker_tasks.audit.rundiff import FieldChange, RunDiff
    from aker_tasks.audit.runs import RunRecord

__all__ = ["COMMANDS", "add_parsers"]

#: ``aker status --exit-code``: something would run.
EXIT_STALE = 1


def add_parsers(sub: Any) -> None:
    """Add the ``status`` and ``runs`` subcommands to ``aker``'s subparsers."""
    status = sub.add_parser("status", help="why ScoreMarkets would rerun: fresh/stale/missing per task (no writes)")
    status.add_argument("--as-of", required=True, help="YYYY-MM-DD or YYYY-MM")
    status.add_argument("--weights", default=None, help="same JSON as ScoreMarkets --weights (default AKER_WEIGHTS)")
    status.add_argument("--format", default="csv", choices=["csv", "parquet", "jsonl"], help="export format")
    status.add_argument("--json", action="store_true", help="as JSON")
    status.add_argument("--exit-code", action="store_true", help=f"exit {EXIT_STALE} when anything would run")

    runs = sub.add_parser("runs", help="recorded runs: list, show, diff")
    actions = runs.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="recent runs, newest first")
    listing.add_argument("--as-of", help="only runs for this as_of")
    listing.add_argument("--task", help="only this task family (e.g. ComposeScores)")
    listing.add_argument("--limit", type=int, default=20, help="at most N runs (default 20)")
    listing.add_argument("--json", action="store_true", help="as JSON")
    show = actions.add_parser("show", help="one run with its configuration, code versions and lineage")
    show.add_argument("run", help="run id or a unique prefix")
    show.add_argument("--json", action="store_true", help="as JSON")
    diff = actions.add_parser("diff", help="what differs between two runs (or the last two: --last FAMILY --as-of D)")
    diff.add_argument("runs", nargs="*", metavar="RUN", help="two run ids or unique prefixes")
    diff.add_argument("--last", metavar="FAMILY", help="compare the last two completed runs of this task family")
    diff.add_argument("--as-of", help="with --last: the as_of")
    diff.add_argument("--json", action="store_true", help="as JSON")


def _print_json(doc: Any) -> None:
    import orjson

    print(orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode())


def _h(value: Any) -> str:
    """A content hash shortened for reading (``--json`` has it whole)."""
    if value is None:
        return "(none)"
    text = str(value).removeprefix("xxh3_128:")
    return text[:16]


def _value(value: Any) -> str:
    """A setting's value: floats to 4 significant digits (normalised weights are long fractions)."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _weights(weights: Any) -> str:
    if not isinstance(weights, dict):
        return str(weights)
    return ", ".join(f"{k} {float(v):.4g}" for k, v in weights.items())


def cause_text(cause: Cause) -> str:
    """One line for a person saying what changed."""
    d = cause.detail
    if cause.part == "source":
        if d.get("error") and cause.new is None:
            return f"source {cause.name} cannot be read: {d['error']}"
        rows = f" (rows {d.get('rows_old', '?')} -> {d.get('rows_new', '?')})" if "rows_new" in d else ""
        return f"source {cause.name} changed: {d.get('location')} {_h(cause.old)} -> {_h(cause.new)}{rows}"
    if cause.part == "code":
        if cause.old is None:
            return f"code module {cause.name} ({d.get('file')}) is new in this task's code"
        if cause.new is None:
            return f"code module {cause.name} ({d.get('file')}) is no longer part of this task's code"
        return f"code module {cause.name} ({d.get('file')}) changed: {cause.old} -> {cause.new}"
    if cause.part == "library":
        return f"library {cause.name} {cause.old} -> {cause.new}"
    if cause.part == "setting":
        return f"setting {cause.name}: {_value(cause.old)} -> {_value(cause.new)}"
    if cause.part == "upstream":
        return f"upstream {cause.name} is {d.get('state')}: it runs first, then this (unless its output is unchanged)"
    if cause.part == "input":
        return f"upstream {cause.name} output changed: {_h(cause.old)} -> {_h(cause.new)}"
    if cause.part == "code_version":
        return f"code version {cause.old} -> {cause.new} (the earlier target predates per-module versions)"
    if cause.part == "target":
        return f"its target {cause.name} was deleted or damaged"
    if cause.part == "publication":
        if not d.get("run_id"):
            return "the database holds no scores for this date"
        return (
            f"the database holds run {str(d['run_id'])[:8]}'s scores (weights {_weights(d.get('weights'))}), not these"
        )
    if cause.part == "database":
        return f"the database cannot be read: {d.get('error')}"
    return f"{cause.part} {cause.name}: {cause.old} -> {cause.new}"


def print_status(report: StatusReport, out: Callable[[str], None] = print) -> None:
    """The report for a person."""
    out(f"status as of {report.as_of}, weights {_weights(report.weights)}, export {report.format}")
    for task in report.tasks:
        out(f"  {task.state:<8} {task.task}")
        for cause in task.causes:
            out(f"             - {cause_text(cause)}")
    pub = report.publication
    out(f"database   {pub.database}: {pub.detail}")
    counts = report.counts()
    to_run = counts["stale"] + counts["missing"]
    verdict = "ScoreMarkets would do nothing" if report.up_to_date else f"ScoreMarkets would run {to_run} task(s)"
    out(
        f"summary    {counts['fresh']} fresh, {counts['stale']} stale, {counts['missing']} missing -- {verdict} "
        f"({report.seconds:.2f} s)"
    )


def _cmd_status(args: argparse.Namespace) -> int:
    import orjson

    from aker_core.exceptions import AkerError
    from aker_tasks.audit.status import status

    weights = None
    if args.weights is not None:
        try:
            weights = orjson.loads(args.weights)
        except orjson.JSONDecodeError as e:
            print(f"aker status: --weights: not JSON ({e})", file=sys.stderr)
            return 2
    try:
        report = status(args.as_of, weights, args.format)
    except AkerError as e:
        print(f"aker status: {e}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(report.to_dict())
    else:
        print_status(report)
    return EXIT_STALE if args.exit_code and not report.up_to_date else 0


def _task_text(run: RunRecord) -> str:
    params = [str(v) for k, v in run.task_params.items() if k not in ("config", "weights")]
    return f"{run.task_family}({', '.join(params)})"


def _time(value: str | None) -> str:
    return (value or "")[:19].replace("T", " ")


def print_runs(runs: Iterable[RunRecord], out: Callable[[str], None] = print) -> None:
    """A table of runs."""
    out(f"{'RUN':<9} {'STARTED (UTC)':<19}  {'STATUS':<9} {'OUTPUT':<16}  {'GIT':<8} TASK")
    for r in runs:
        git = r.git_sha[:7] + ("+" if r.git_dirty else "")
        started, output = _time(r.started_at), _h(r.output_hash)
        out(f"{r.run_id[:8]:<9} {started:<19}  {r.status:<9} {output:<16}  {git:<8} {_task_text(r)}")


def print_run(run: RunRecord, out: Callable[[str], None] = print) -> None:
    """One run in full."""
    dirty = {True: " (dirty work tree)", False: " (clean)", None: ""}[run.git_dirty]
    out(f"run        {run.run_id}")
    out(f"task       {_task_text(run)}")
    out(f"status     {run.status}  started {_time(run.started_at)}  finished {_time(run.finished_at)}  host {run.host}")
    out(f"git        {run.git_sha}{dirty}")
    out(f"config     {run.config_hash}  weights {_weights(run.config.get('weights'))}  seed {run.seed}")
    out(f"output     {run.output_hash}")
    if run.error:
        out(f"error      {run.error.splitlines()[0] if run.error else ''}")
    if run.warnings:
        out(f"warnings   {run.warnings}")
    versions = run.code_versions or {}
    libraries = versions.get("libraries") or {}
    out(f"libraries  {', '.join(f'{k} {v}' for k, v in libraries.items()) or '(not recorded)'}")
    for module, version in (versions.get("modules") or {}).items():
        out(f"code       {module} {version}")
    for item in run.lineage:
        rows = f" {item.rows} rows" if item.rows is not None else ""
        name = (
            f"{item.table}:{item.source.removeprefix('target:')}" if item.source.startswith("target:") else item.table
        )
        out(f"{item.direction:<10} {name} {_h(item.hash)}{rows}  {item.url or item.path or ''}")


def _changes(label: str, changes: tuple[FieldChange, ...], same: str, out: Callable[[str], None]) -> None:
    if not changes:
        out(f"{label:<10} {same}")
        return
    for i, c in enumerate(changes):
        old, new = c.old, c.new
        if label in ("inputs",) or (isinstance(old, str) and old.startswith("xxh3_128:")):
            old, new = _h(old), _h(new)
        out(f"{label if i == 0 else '':<10} {c.name}: {old} -> {new}")


def print_diff(diff: RunDiff, out: Callable[[str], None] = print) -> None:
    """The differences for a person; the last line says whether the outputs are equal."""
    a, b = diff.a, diff.b
    out(f"a          {a.run_id}  {_task_text(a)}  {_time(a.started_at)}")
    out(f"b          {b.run_id}  {_task_text(b)}  {_time(b.started_at)}")
    _changes("task", diff.task, "same task and parameters", out)
    config_same = f"same (config_hash {a.config_hash[:16]})"
    _changes("config", diff.config, config_same, out)
    if a.config_hash != b.config_hash:
        out(f"{'':<10} config_hash {a.config_hash[:16]} -> {b.config_hash[:16]}")
    elif diff.config:
        out(f"{'':<10} (only operational settings differ: config_hash {a.config_hash[:16]} is the same)")
    dirty = {True: "dirty", False: "clean", None: "dirty flag unknown"}[a.git_dirty]
    _changes("git", diff.git, f"same ({a.git_sha[:12]}, {dirty})", out)
    if diff.code_known:
        modules = len((a.code_versions or {}).get("modules") or {})
        _changes("code", diff.code, f"same ({modules} module(s))", out)
        _changes("libraries", diff.libraries, "same", out)
    else:
        which = "a" if a.code_versions is None else "b"
        out(f"{'code':<10} not recorded for {which} (a run from before code versions were kept)")
    _changes("inputs", diff.inputs, f"same ({sum(1 for i in a.lineage if i.direction == 'input')} input(s))", out)
    if diff.output_equal:
        out(f"{'output':<10} equal ({_h(a.output_hash)})")
    else:
        out(f"{'output':<10} DIFFERENT: {_h(a.output_hash)} -> {_h(b.output_hash)}")


def _cmd_runs(args: argparse.Namespace) -> int:
    from aker_core.exceptions import AkerError
    from aker_tasks.audit.dbread import AuditError
    from aker_tasks.audit.rundiff import diff_last, diff_runs
    from aker_tasks.audit.runs import list_runs, show_run

    try:
        if args.action == "list":
            runs = list_runs(as_of=args.as_of, task=args.task, limit=args.limit)
            _print_json([r.to_dict() for r in runs]) if args.json else print_runs(runs)
        elif args.action == "show":
            run = show_run(args.run)
            _print_json(run.to_dict()) if args.json else print_run(run)
        else:
            if args.last:
                if args.runs or not args.as_of:
                    raise AuditError("give either two runs, or --last FAMILY with --as-of D", 2)
                diff = diff_last(args.last, args.as_of)
            elif len(args.runs) == 2:
                diff = diff_runs(*args.runs)
            else:
                raise AuditError("give two runs (ids or unique prefixes), or --last FAMILY --as-of D", 2)
            _print_json(diff.to_dict()) if args.json else print_diff(diff)
    except AuditError as e:
        print(f"aker runs {args.action}: {e}", file=sys.stderr)
        return e.code
    except AkerError as e:  # e.g. a bad --as-of
        print(f"aker runs {args.action}: {e}", file=sys.stderr)
        return 2
    return 0


#: Subcommand -> handler, for ``aker``'s dispatch.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"status": _cmd_status, "runs": _cmd_runs}
