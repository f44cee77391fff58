"""``aker``: the command line of an installed aker (``pip install aker`` puts it on the PATH).

Subcommands:

* ``aker config [--show-effective] [--json]`` -- the effective settings and where each came from
  (the same as ``python -m aker_core.config``; plain ``aker config`` means ``--show-effective``).
* ``aker db upgrade`` -- migrate the configured database (``AKER_POSTGIS_DSN``, default the
  embedded SQLite file) to the head revision; ``aker db current`` prints its revision.
* ``aker show --as-of YYYY-MM-DD [...]`` -- the built targets and top markets
  (the same as ``python -m aker_tasks.show``).
* ``aker export --as-of YYYY-MM-DD [--format csv] | --describe`` -- build or reuse the export
  and print its stable path, or the data dictionary (:mod:`aker_tasks.exports.command`);
  ``aker report --as-of YYYY-MM-DD`` -- the same for the HTML scorecard.
* ``aker status --as-of D [--weights J] [--json] [--exit-code]`` and ``aker runs list|show|diff``
  -- why a run would rerun, and what differs between runs (see :mod:`aker_tasks.audit.cli`).
* ``aker trace --as-of D --market MSA_ID [--json] [--restore DIR]`` -- where a published score came
  from (:mod:`aker_tasks.audit.trace`); ``aker gc [--dry-run] [--keep-days N] [--json]`` -- remove
  what no live result needs (:mod:`aker_tasks.audit.gc`). Their exit codes are in those modules.
* ``aker backfill --start D --end D [--freq quarter|month|week] [--weights J] [--format F]
  [--workers N] [--local-scheduler | --scheduler-host H --scheduler-port P] [--list]`` -- score
  every period end of a range in one Luigi run: exactly ``luigi --module aker_tasks Backfill ...``
  (:mod:`aker_tasks.backfill`), with Luigi's exit codes; ``--list`` prints the dates only.
* ``aker luigid [--port 8082] [--address 127.0.0.1] [--background] [--logdir DIR]
  [--state-path P]`` -- Luigi's central scheduler with aker's defaults and task history
  (``<cache>/luigid/history.db``, browsable at ``/history``).

Exit codes:

* 0 -- success.
* 1 -- ``aker db current``: the database is not at the head revision; ``aker show``: the scores
  are not built for the current inputs; ``aker status --exit-code``: something would run.
* 2 -- usage or configuration error (unknown subcommand, invalid ``AKER_*`` value, a DSN naming
  an unknown driver, ``--background`` without python-daemon).
* 3 -- database error: unreachable, credentials refused, or a migration failed (``aker runs``:
  the run database cannot be read).
* 4 -- ``aker luigid`` could not start (e.g. the port is in use).
* 141 -- the reader of the output went away (``aker runs list | head``), as for a process ended by
  SIGPIPE; nothing is printed.

Errors are one line on stderr without a traceback, and never contain a password.
Heavy libraries (pyarrow, SQLAlchemy, Alembic) load only inside the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aker_core.exceptions import AkerError

if TYPE_CHECKING:
    from aker_core.config import Settings

__all__ = ["main"]

EXIT_NOT_CURRENT = 1
EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_LUIGID = 4
#: Ctrl-C (SIGINT), as shells report it: 128 + 2.
EXIT_INTERRUPTED = 130


class _CliError(AkerError):
    """A failure already phrased for the user, with the exit code it maps to."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _settings() -> Settings:
    """Read the settings, turning a validation error into a :class:`_CliError`."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from aker_core.config import Settings
    from aker_core.config.errors import describe_validation_error

    try:
        return Settings()
    except (ValidationError, SettingsError) as e:
        raise _CliError(describe_validation_error(e), EXIT_CONFIG) from None


def _one_line(error: BaseException, settings: Settings) -> str:
    """The first line of ``error``'s message with every secret of ``settings`` masked."""
    from aker_core.redact import redact, secret_values

    orig = getattr(error, "orig", None)  # SQLAlchemy wraps the driver's (clearer) exception
    text = str(orig if orig is not None else error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return redact(f"{type(orig or error).__name__}: {first}", secret_values(settings))


def _cmd_config(args: argparse.Namespace) -> int:
    """``aker config``: :func:`aker_core.config.__main__.main` with ``--show-effective`` implied."""
    from aker_core.config.__main__ import main as config_main

    # --show-effective is implied: plain `aker config` prints the table, not a usage message.
    return config_main(["--show-effective", *(["--json"] if args.json else [])])


def _cmd_db(args: argparse.Namespace) -> int:
    """``aker db upgrade|current``: migrate the configured database to head, or report its revision."""
    settings = _settings()
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    from aker_core.exceptions import AkerError
    from aker_core.redact import mask_dsn
    from aker_data.engine import database_engine
    from aker_data.exceptions import DataError
    from aker_data.migrate import HEAD, current_revision, upgrade

    shown = mask_dsn(settings.database_url)
    try:
        engine = database_engine(settings=settings)
    except (ArgumentError, NoSuchModuleError, ImportError) as e:
        raise _CliError(f"cannot use database {shown}: {_one_line(e, settings)}", EXIT_CONFIG) from None
    try:
        if args.action == "upgrade":
            upgrade(engine)
        revision = current_revision(engine)
    except (SQLAlchemyError, DataError, AkerError, OSError) as e:
        raise _CliError(f"database {shown}: {_one_line(e, settings)}", EXIT_DATABASE) from None
    finally:
        engine.dispose()
    print(f"database {shown} at revision {revision or 'none (empty database)'}")
    if revision != HEAD:
        print(f"the code expects revision {HEAD}: run `aker db upgrade`", file=sys.stderr)
        return EXIT_NOT_CURRENT
    return 0


def _cmd_show(argv: list[str]) -> int:
    """``aker show``: :func:`aker_tasks.show.main` with the arguments untouched."""
    from aker_tasks.show import main as show_main

    return show_main(argv)


def _task_history() -> Any:
    """Luigi's database task history, made to open a SQLite file under SQLAlchemy 2.

    luigi's ``DbTaskHistory.__init__`` ends with a schema upgrade that executes a plain SQL
    string on SQLite, which SQLAlchemy 2 refuses; a database it creates itself already has the
    current schema, so on SQLite that step is skipped (other backends still run it).
    """
    import sqlalchemy
    import sqlalchemy.orm
    from luigi import configuration, db_task_history

    class TaskHistory(db_task_history.DbTaskHistory):
        def __init__(self) -> None:
            url = configuration.get_config().get("task_history", "db_connection")
            self.engine = sqlalchemy.create_engine(url)
            self.session_factory = sqlalchemy.orm.sessionmaker(bind=self.engine, expire_on_commit=False)
            db_task_history.Base.metadata.create_all(self.engine)
            self.tasks: dict[str, Any] = {}
            if self.engine.dialect.name != "sqlite":
                db_task_history._upgrade_schema(self.engine)

    return TaskHistory()


def _serve(api_port: int, address: str | None = None, unix_socket: str | None = None) -> None:
    """Run Luigi's scheduler server until SIGINT/SIGTERM (in the daemon, with ``--background``)."""
    import luigi.server
    from luigi.configuration import get_config
    from luigi.scheduler import Scheduler

    history = _task_history() if get_config().getboolean("scheduler", "record_task_history", False) else None
    luigi.server.run(
        api_port=api_port, address=address, unix_socket=unix_socket, scheduler=Scheduler(task_history_impl=history)
    )


def _cmd_luigid(args: argparse.Namespace) -> int:
    """``aker luigid``: Luigi's central scheduler with aker's defaults and task history under the cache."""
    settings = _settings()
    if args.background:
        import importlib.util

        if importlib.util.find_spec("daemon") is None:
            raise _CliError("--background needs python-daemon: pip install python-daemon", EXIT_CONFIG)
    import luigi.configuration

    from aker_tasks.luigi_setup import use_packaged_config

    home = settings.cache_path / "luigid"
    logdir = args.logdir or (home / "log" if args.background else None)
    try:
        for directory in (home, logdir):
            if directory is not None:
                directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _CliError(f"cannot create {e.filename}: {e.strerror}", EXIT_CONFIG) from None
    use_packaged_config()
    config = luigi.configuration.get_config()
    # The user's luigi.cfg may choose its own history database, state file, or no history.
    if not config.has_option("scheduler", "record_task_history"):
        config.set("scheduler", "record_task_history", "True")
    if not config.has_option("task_history", "db_connection"):
        config.set("task_history", "db_connection", f"sqlite:///{home / 'history.db'}")
    if args.state_path or not config.has_option("scheduler", "state_path"):
        config.set("scheduler", "state_path", str(args.state_path or home / "state.pickle"))
    # What luigi.cmdline.luigid does, but with a scheduler whose task history works (see _task_history).
    from luigi.setup_logging import DaemonLogging

    DaemonLogging.setup(argparse.Namespace(background=args.background, logdir=logdir and str(logdir)))
    try:
        if args.background:
            import luigi.process

            pidfile = str(home / "luigid.pid")
            luigi.process.daemonize(
                _serve, pidfile=pidfile, logdir=str(logdir), api_port=args.port, address=args.address
            )
        else:
            _serve(api_port=args.port, address=args.address)
    except OSError as e:
        raise _CliError(f"could not serve on {args.address}:{args.port}: {e.strerror or e}", EXIT_LUIGID) from None
    return 0


def _cmd_backfill(args: argparse.Namespace) -> int:
    """``aker backfill``: check the range, then run ``luigi --module aker_tasks Backfill ...`` in this process."""
    from aker_core.dates import month_end, parse_as_of, period_ends
    from aker_core.exceptions import ScoringError

    try:
        start = parse_as_of(args.start)
    except ScoringError as e:
        raise _CliError(f"--start: {e}", EXIT_CONFIG) from None
    try:
        end = parse_as_of(args.end)
    except ScoringError as e:
        raise _CliError(f"--end: {e}", EXIT_CONFIG) from None
    if re.fullmatch(r"\d{4}-\d{2}", args.end.strip()):
        # "--end 2024-03" means through March: its last day, not the first (as --as-of reads it).
        end = month_end(end.year, end.month)
    try:
        dates = period_ends(start, end, args.freq)
    except ScoringError as e:
        raise _CliError(str(e), EXIT_CONFIG) from None
    if args.workers < 1:
        raise _CliError(f"--workers: must be at least 1, got {args.workers}", EXIT_CONFIG)
    if args.weights is not None:
        from aker_tasks.identity import WeightsParameter

        try:
            WeightsParameter().parse(args.weights)  # a bad value: one line (also with --list)
        except SystemExit as e:
            return int(e.code or EXIT_CONFIG)
    if args.list:
        print("\n".join(d.isoformat() for d in dates))
        return 0
    argv = ["--module", "aker_tasks", "Backfill", "--start", start.isoformat(), "--end", end.isoformat()]
    argv += ["--freq", args.freq, "--format", args.format, "--workers", str(args.workers)]
    # Luigi re-checks every chunk already done each time the backfill resumes: remember the
    # answers that were "complete" (a done date stays done within this run).
    argv.append("--worker-cache-task-completion")
    if args.weights is not None:
        argv += ["--weights", args.weights]
    if args.local_scheduler:
        argv.append("--local-scheduler")
    for option in ("scheduler_host", "scheduler_port"):
        if getattr(args, option) is not None:
            argv += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    import aker_tasks  # noqa: F401  (aker's Luigi configuration, before Luigi reads its [retcode])
    from aker_tasks.luigi_setup import require_scheduler

    print(f"aker backfill: {len(dates)} dates, {dates[0]} .. {dates[-1]}", file=sys.stderr)
    try:
        require_scheduler(["luigi", *argv])  # one line, not a minute of retries, when no luigid answers
        from luigi.retcodes import run_with_retcodes

        run_with_retcodes(argv)
    except SystemExit as e:  # Luigi's [retcode] exit (always raised, 0 included)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:
        # Ctrl-C: the user's action, not a bug. Finished dates stay done (their targets and
        # publications are atomic); interrupted runs are recorded failed; a rerun continues.
        print("aker backfill: interrupted; run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _add_backfill_parser(sub: Any) -> None:
    from aker_core.dates import FREQUENCIES
    from aker_tasks.exports.formats import CONTENT_TYPES

    backfill = sub.add_parser(
        "backfill",
        help="score every quarter-, month- or week-end of a range in one Luigi run",
        description="= luigi --module aker_tasks Backfill --start D --end D --freq F ... (README 'Backfill')",
    )
    backfill.add_argument("--start", required=True, help="first day of the range (YYYY-MM-DD)")
    backfill.add_argument("--end", required=True, help="last day of the range, inclusive (YYYY-MM-DD)")
    backfill.add_argument("--freq", choices=FREQUENCIES, default="quarter", help="period (default quarter)")
    backfill.add_argument("--weights", help="pillar weights as JSON (default AKER_WEIGHTS)")
    backfill.add_argument("--format", choices=tuple(CONTENT_TYPES), default="csv", help="export format (default csv)")
    backfill.add_argument("--workers", type=int, default=1, help="Luigi worker processes (default 1)")
    backfill.add_argument("--local-scheduler", action="store_true", help="no luigid: schedule in this process")
    backfill.add_argument("--scheduler-host", help="luigid host (default from luigi.cfg, 127.0.0.1)")
    backfill.add_argument("--scheduler-port", type=int, help="luigid port (default from luigi.cfg, 8082)")
    backfill.add_argument("--list", action="store_true", help="print the dates and exit")


def _parser() -> argparse.ArgumentParser:
    """The ``aker`` argument parser (``show``'s options are left to :mod:`aker_tasks.show`)."""
    parser = argparse.ArgumentParser(
        prog="aker",
        description="Deterministic, auditable scoring of US markets on four pillars, on Luigi.",
        epilog="run the pipeline with:\n  luigi --module aker_tasks ScoreMarkets --as-of YYYY-MM-DD --local-scheduler",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    config = sub.add_parser("config", help="print the effective settings (default: --show-effective)")
    config.add_argument("--show-effective", action="store_true", help="every setting and its source")
    config.add_argument("--json", action="store_true", help="as JSON, with config_hash")

    db = sub.add_parser("db", help="migrate or inspect the run database")
    db.add_argument("action", choices=["upgrade", "current"], help="upgrade to head, or print the revision")

    # Its options belong to aker_tasks.show: passed on untouched (see main).
    sub.add_parser("show", add_help=False, help="the built targets and top markets (--as-of YYYY-MM-DD)")
    sub.add_parser("export", add_help=False, help="the stable export file of an as_of, or --describe its columns")
    sub.add_parser("report", add_help=False, help="the HTML scorecard of an as_of (= aker export --format html)")

    _add_backfill_parser(sub)

    luigid = sub.add_parser("luigid", help="run Luigi's central scheduler with aker's configuration")
    luigid.add_argument("--port", type=int, default=8082, help="listening port (default 8082)")
    luigid.add_argument("--address", default="127.0.0.1", help="listening interface (default 127.0.0.1)")
    luigid.add_argument("--background", action="store_true", help="daemonize (needs python-daemon)")
    luigid.add_argument("--logdir", type=Path, help="log directory (background default <cache>/luigid/log)")
    luigid.add_argument("--state-path", type=Path, help="scheduler state file (default <cache>/luigid/state.pickle)")

    from aker_tasks.audit import gc, trace  # light modules: each command imports its libraries itself

    trace.add_parser(sub)
    gc.add_parser(sub)

    from aker_tasks.audit.cli import add_parsers as add_audit_parsers  # status, runs

    add_audit_parsers(sub)
    return parser


#: Exit code when the output's reader went away (128 + SIGPIPE, what a shell shows for ``git log | head``).
EXIT_BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    """Run the ``aker`` command line.

    Args:
        argv: the arguments after the program name (default ``sys.argv[1:]``).

    Returns:
        The exit code (see the module docstring).
    """
    try:
        code = _run(argv)
        sys.stdout.flush()  # here, not at exit: a reader that went away fails inside the try
    except BrokenPipeError:
        # `aker trace ... | head`: stop quietly. stdout goes to /dev/null so that the interpreter's
        # own flush at exit does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


def _run(argv: list[str] | None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.command == "show":
        return _cmd_show(extra)
    if args.command in ("export", "report"):
        from aker_tasks.exports import command

        return (command.main if args.command == "export" else command.report_main)(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "handler", None) is not None:  # aker trace, aker gc
        return int(args.handler(args))
    from aker_tasks.audit.cli import COMMANDS as AUDIT_COMMANDS

    commands = {
        "config": _cmd_config,
        "db": _cmd_db,
        "luigid": _cmd_luigid,
        "backfill": _cmd_backfill,
        **AUDIT_COMMANDS,
    }
    if args.command not in commands:
        parser.print_usage(sys.stderr)
        print("aker: error: a subcommand is required (see aker --help)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return commands[args.command](args)
    except _CliError as e:
        label = f"aker {args.command} {args.action}" if args.command == "db" else f"aker {args.command}"
        print(f"{label}: {e}", file=sys.stderr)
        return e.code


if __name__ == "__main__":
    sys.exit(main())
