"""``aker export`` and ``aker report``: the stable export of an as_of (built or reused), the dictionary.

* ``aker export --as-of D [--weights J] [--format csv|parquet|jsonl|html] [--json]`` runs
  ``ExportScores`` (and whatever it needs that is not built yet) in this process with a local
  scheduler, exactly as ``luigi --module aker_tasks ExportScores ... --local-scheduler`` would,
  then prints the stable path. Nothing is recomputed when the export is current.
* ``aker export --describe [--json | --markdown]`` prints the data dictionary.
* ``aker report --as-of D [--weights J] [--json]`` is ``aker export --format html``: the HTML
  scorecard at ``AKER_EXPORT_DIR/<as_of>/scorecard.html``.

Exit codes: 0 done; 2 bad arguments or settings; 30 a task failed (its one-line error is above).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["EXIT_FAILED", "export", "main", "report_main"]

#: Exit code when the graph did not finish (Luigi's ``[retcode] task_failed`` in aker's luigi.cfg).
EXIT_FAILED = 30


def export(as_of: Any, weights: dict[str, float] | None = None, fmt: str = "csv") -> dict[str, Any]:
    """Build (or reuse) the export of ``as_of`` and return where it is.

    Args:
        as_of: anything ``--as-of`` accepts (a date, ``YYYY-MM-DD``, ``YYYY-MM``).
        weights: the four pillar weights (default ``AKER_WEIGHTS``).
        fmt: ``csv``, ``parquet`` or ``jsonl``.

    Returns:
        ``ok``, ``path`` (the stable file), ``target`` (its content-addressed copy), ``rows``,
        ``weights`` and ``ran`` (task ids executed by this call).
    """
    import luigi
    import luigi.execution_summary

    from aker_tasks.export import ExportScores

    task = ExportScores(as_of=as_of, weights=weights, format=fmt)
    result = luigi.build([task], local_scheduler=True, detailed_summary=True, log_level="WARNING")
    summary = luigi.execution_summary._summary_dict(result.worker)
    ok = result.status in (luigi.LuigiStatusCode.SUCCESS, luigi.LuigiStatusCode.SUCCESS_WITH_RETRY)
    out: dict[str, Any] = {
        "ok": ok and task.complete(),
        "as_of": task.as_of.isoformat(),
        "format": fmt,
        "weights": task.weights_used(),
        "path": str(task.stable_path()),
        "ran": sorted(t.task_id for t in summary.get("completed", set())),
    }
    if out["ok"]:
        target = task.target()
        out["target"] = target.path
        out["rows"] = target.sidecar().get("rows")
    return out


def _parser() -> argparse.ArgumentParser:
    from aker_tasks.exports.formats import CONTENT_TYPES

    parser = argparse.ArgumentParser(
        prog="aker export",
        description="Build (or reuse) the export of an as_of and print its stable path; or describe the columns.",
    )
    parser.add_argument("--as-of", help="YYYY-MM-DD (or YYYY-MM)")
    parser.add_argument("--weights", help='JSON with the four pillars, e.g. \'{"supply":0.4,"jobs":0.3,...}\'')
    parser.add_argument("--format", choices=tuple(CONTENT_TYPES), default="csv", help="default csv")
    parser.add_argument("--describe", action="store_true", help="print the data dictionary of the export columns")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--markdown", action="store_true", help="with --describe: the README's markdown table")
    return parser


def _describe(args: argparse.Namespace) -> int:
    from aker_tasks.exports import dictionary

    if args.json:
        import orjson

        sys.stdout.write(orjson.dumps(dictionary.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.markdown:
        print(dictionary.render_markdown())
    else:
        print(dictionary.render_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``aker export`` (see the module docstring); returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.describe:
        return _describe(args)
    if args.markdown:
        parser.error("--markdown goes with --describe")
    if not args.as_of:
        parser.error("--as-of is required (or --describe)")
    return _build(args.as_of, args.weights, args.format, as_json=args.json, command="aker export")


def report_main(argv: list[str] | None = None) -> int:
    """Run ``aker report``: the HTML scorecard of an as_of; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="aker report",
        description="Build (or reuse) the HTML scorecard of an as_of and print its stable path.",
    )
    parser.add_argument("--as-of", required=True, help="YYYY-MM-DD (or YYYY-MM)")
    parser.add_argument("--weights", help='JSON with the four pillars, e.g. \'{"supply":0.4,"jobs":0.3,...}\'')
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    return _build(args.as_of, args.weights, "html", as_json=args.json, command="aker report")


def _build(as_of_text: str, weights_text: str | None, fmt: str, *, as_json: bool, command: str) -> int:
    """Parse the values, run :func:`export`, print the stable path (or JSON); the exit code."""
    import orjson

    from aker_core.dates import parse_as_of
    from aker_core.exceptions import AkerError
    from aker_tasks.identity import parse_weights

    try:
        as_of = parse_as_of(as_of_text)
        weights = None
        if weights_text is not None:
            try:
                given = orjson.loads(weights_text)
            except orjson.JSONDecodeError as e:
                raise AkerError(f"--weights: not JSON ({e})") from None
            if not isinstance(given, dict):
                raise AkerError(f"--weights: expected a JSON object with the four pillars, got {weights_text!r}")
            weights = parse_weights(given)
        done = export(as_of, weights, fmt)
    except AkerError as e:
        print(f"{command}: {e}", file=sys.stderr)
        return 2
    if as_json:
        sys.stdout.write(orjson.dumps(done, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif done["ok"]:
        print(done["path"])
    if not done["ok"]:
        print(f"{command}: the export as of {done['as_of']} was not built (see the errors above)", file=sys.stderr)
        return EXIT_FAILED
    return 0
