"""Backfill: the dates it picks, one Luigi run over a history, shared work, Luigi's own ranges.

The history fixture is built once per backend (module scope): a backfill of five quarter-ends over
generated sources whose vintages fall *between* the dates (mid-quarter), a rerun with nothing
changed, then a rerun after the latest vintage of ``market_jobs`` was edited. Its reference is
the same dates scored one ``ScoreMarkets`` run at a time, oldest first, in a cache and database
of their own (what a shell loop does).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aker_core.config import PILLARS, reset_settings
from aker_core.dates import period_ends
from aker_core.exceptions import ScoringError
from aker_core.sample.generator import generate, write_datasets
from aker_data.engine import create_engine_from_url, dispose_engines
from aker_data.migrate import upgrade
from aker_data.models import PillarScore, Run
from aker_tasks.cli import main as aker
from aker_tasks.testing import build, reset_luigi_config
from tests.conftest import pg_base_dsn, require_postgres
from tests.tasks.luigiproc import aker_env, copy_sample, run_luigi

START, END = "2023-06-01", "2024-06-30"
#: The quarter-ends in [START, END].
DATES = [dt.date(2023, 6, 30), dt.date(2023, 9, 30), dt.date(2023, 12, 31), dt.date(2024, 3, 31), dt.date(2024, 6, 30)]
#: The generator's four quarter-end vintages, moved mid-quarter: each lies between two DATES,
#: and none after 2024-03-31, so the cuts of the last two dates are identical.
VINTAGES = [dt.date(2023, 5, 15), dt.date(2023, 8, 15), dt.date(2023, 11, 15), dt.date(2024, 2, 15)]
#: The dates whose market_jobs cut holds the latest vintage (edited in the last pass).
CHANGED = {"2024-03-31", "2024-06-30"}


# --- the dates -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "freq", "expected"),
    [
        ("2022-01-01", "2022-12-31", "quarter", ["2022-03-31", "2022-06-30", "2022-09-30", "2022-12-31"]),
        ("2024-01-15", "2024-04-29", "month", ["2024-01-31", "2024-02-29", "2024-03-31"]),
        ("2024-01-01", "2024-01-31", "week", ["2024-01-07", "2024-01-14", "2024-01-21", "2024-01-28"]),
    ],
)
def test_period_ends_are_the_last_day_of_each_period(start: str, end: str, freq: str, expected: list[str]) -> None:
    """Quarter-ends, month-ends and Sundays within [start, end], oldest first."""
    assert [d.isoformat() for d in period_ends(start, end, freq)] == expected


def test_list_prints_the_dates(capsys: pytest.CaptureFixture[str]) -> None:
    """`aker backfill --list` prints one date a line and runs nothing."""
    assert aker(["backfill", "--start", START, "--end", END, "--list"]) == 0
    assert capsys.readouterr().out.split() == [d.isoformat() for d in DATES]


@pytest.mark.parametrize(
    ("start", "end", "freq", "message"),
    [
        ("2024-06-30", "2024-01-01", "quarter", "the end 2024-01-01 is before the start 2024-06-30"),
        ("2024-02-01", "2024-03-30", "quarter", "no quarter-end between 2024-02-01 and 2024-03-30"),
        ("2024-13-01", "2024-12-31", "month", "--start: as_of '2024-13-01' is not a valid date"),
    ],
)
def test_bad_range_is_one_line_and_exit_2(
    start: str, end: str, freq: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """End before start, no date in the range or an unparseable date: one line, exit code 2, nothing run."""
    assert aker(["backfill", "--start", start, "--end", end, "--freq", freq, "--local-scheduler"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("aker backfill: ") and message in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workers", "0"], "--workers: must be at least 1, got 0"),
        (["--weights", "notjson", "--list"], "--weights: not JSON"),
        (["--weights", '{"supply": 1}', "--list"], "--weights:"),
    ],
)
def test_bad_workers_or_weights_are_one_line_and_exit_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--workers below 1 or bad --weights (also with --list): one line, exit 2, nothing run or listed."""
    code = aker(["backfill", "--start", START, "--end", END, "--local-scheduler", *extra])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and captured.err.count("\n") == 1 and message in captured.err


def test_end_month_means_through_its_last_day(capsys: pytest.CaptureFixture[str]) -> None:
    """--end 2024-03 includes March 31 (a month given as the end is the whole month)."""
    assert aker(["backfill", "--start", "2024-01", "--end", "2024-03", "--list"]) == 0
    assert capsys.readouterr().out.split() == ["2024-03-31"]


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An interrupted backfill says how to continue, in one line, with exit code 130 and no traceback."""
    import luigi.retcodes

    def interrupted(argv: list[str]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(luigi.retcodes, "run_with_retcodes", interrupted)
    assert aker(["backfill", "--start", START, "--end", END, "--local-scheduler"]) == 130
    err = capsys.readouterr().err
    assert "interrupted; run the same command again to continue" in err and "Traceback" not in err


def test_bad_range_raises_from_python() -> None:
    """period_ends names the problem as a ScoringError (Backfill raises it as the task is made)."""
    with pytest.raises(ScoringError, match="before the start"):
        period_ends("2024-06-30", "2024-01-01", "month")


# --- one history ---------------------------------------------------------------------------
def _write_sources(directory: Path) -> None:
    """Generated sources (120 markets, 4 vintages), every vintage moved mid-quarter."""
    tables = generate(120, vintages=4, seed=3)
    moved = {}
    for name, table in tables.items():
        if "data_vintage" in table.column_names:
            index = pc.index_in(
                table["data_vintage"], value_set=pa.array(sorted(set(table["data_vintage"].to_pylist())))
            )
            new = pa.array(VINTAGES, pa.date32()).take(index)
            table = table.set_column(table.column_names.index("data_vintage"), "data_vintage", new)
        moved[name] = table
    write_datasets(moved, directory, "parquet")


def _edit_latest_jobs(directory: Path) -> None:
    """Change market_jobs' values in its latest vintage only."""
    path = directory / "market_jobs.parquet"
    table = pq.read_table(path)
    latest = pc.equal(table["data_vintage"], pa.scalar(VINTAGES[-1], pa.date32()))
    column = table.column_names.index("unemployment_rate")
    bumped = pc.if_else(latest, pc.add(table["unemployment_rate"], 1.5), table["unemployment_rate"])
    pq.write_table(table.set_column(column, "unemployment_rate", bumped), path)


def _published(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """as_of -> its pillar_scores rows (without the run id), sorted."""
    engine = create_engine_from_url(url)
    with Session(engine) as s:
        rows = s.scalars(select(PillarScore)).all()
        found: dict[str, list[tuple[Any, ...]]] = {}
        for r in rows:
            values = {k: v for k, v in vars(r).items() if not k.startswith("_") and k not in ("run_id", "id")}
            found.setdefault(r.score_as_of.isoformat(), []).append(tuple(sorted(values.items(), key=lambda kv: kv[0])))
    engine.dispose()
    return {day: sorted(rows_, key=repr) for day, rows_ in found.items()}


def _runs(url: str) -> list[tuple[str, str | None, str]]:
    """(task_family, as_of, run_id) of every run."""
    engine = create_engine_from_url(url)
    with Session(engine) as s:
        runs = [(str(r.task_family), (r.task_params or {}).get("as_of"), str(r.run_id)) for r in s.scalars(select(Run))]
    engine.dispose()
    return runs


def _exports(cache: Path) -> dict[str, pa.Table]:
    """as_of -> the stable csv export, without the run_id column."""
    found = {}
    for day in DATES:
        table = pacsv.read_csv(cache / "exports" / day.isoformat() / "scores.csv")
        found[day.isoformat()] = table.drop_columns(["run_id"])
    return found


@dataclass
class History:
    """What the module fixture recorded."""

    url: str
    cache: Path
    first: list[tuple[str, str | None, str]]  # runs of the backfill
    rerun: dict[str, set[str]]  # Luigi summary of the rerun with nothing changed
    second: list[tuple[str, str | None, str]]  # runs of the backfill after the edit
    published: dict[str, list[tuple[Any, ...]]]
    exports: dict[str, pa.Table]
    reference_published: dict[str, list[tuple[Any, ...]]]
    reference_exports: dict[str, pa.Table]
    messages: list[str] = field(default_factory=list)
    percents: list[int] = field(default_factory=list)


def _configure(mp: pytest.MonkeyPatch, root: Path, source: Path, url: str) -> None:
    for key in ("AKER_WEIGHTS", "AKER_RETAIN_SOURCES", "AKER_EXPORT_DIR", "OPENLINEAGE_URL", "LUIGI_CONFIG_PATH"):
        mp.delenv(key, raising=False)
    mp.setenv("OPENLINEAGE_DISABLED", "true")
    mp.setenv("AKER_CACHE_PATH", str(root / "cache"))
    mp.setenv("AKER_SOURCE_URI", str(source))
    mp.setenv("AKER_POSTGIS_DSN", url)
    mp.setenv("AKER_ENV_FILE", str(root / "no.env"))
    mp.setenv("GIT_SHA", "0123456789abcdef0123456789abcdef01234567")
    reset_settings()
    engine = create_engine_from_url(url)
    upgrade(engine)
    engine.dispose()


def _pg_schema_url(name: str) -> Iterator[str]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    require_postgres()
    admin = create_engine_from_url(pg_base_dsn())
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield (
            make_url(pg_base_dsn())
            .update_query_dict({"options": f"-csearch_path={name}"})
            .render_as_string(hide_password=False)
        )
    finally:
        dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def history(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """Backfill, rerun, edit market_jobs' latest vintage, backfill again; and the one-date-at-a-time reference."""
    import luigi.scheduler

    from aker_tasks import Backfill, ScoreMarkets

    root = tmp_path_factory.mktemp(f"history-{request.param}")
    source = root / "source"
    _write_sources(source)
    urls: Iterator[str]
    if request.param == "sqlite":
        urls = iter([f"sqlite:///{root / 'backfill.db'}", f"sqlite:///{root / 'reference.db'}"])
        cleanup: list[Iterator[str]] = []
    else:
        # Names of this fixture instance only: a schema of another instance (or process) is never touched.
        cleanup = [_pg_schema_url(f"t_backfill_{n}_{uuid.uuid4().hex[:8]}") for n in ("a", "b")]
        urls = iter([next(c) for c in cleanup])
    try:
        url, reference_url = next(urls), next(urls)
        messages: list[str] = []
        percents: list[int] = []
        status_message = luigi.scheduler.Scheduler.set_task_status_message
        progress = luigi.scheduler.Scheduler.set_task_progress_percentage

        def record_message(self: Any, task_id: str, status_message_: str) -> None:
            if task_id.startswith("Backfill"):
                messages.append(status_message_)
            status_message(self, task_id, status_message_)

        def record_percent(self: Any, task_id: str, percent: int) -> None:
            if task_id.startswith("Backfill"):
                percents.append(percent)
            progress(self, task_id, percent)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(luigi.scheduler.Scheduler, "set_task_status_message", record_message)
            mp.setattr(luigi.scheduler.Scheduler, "set_task_progress_percentage", record_percent)
            reset_luigi_config()
            # The reference: one ScoreMarkets run per date, oldest first, in a cache and database of its own.
            _configure(mp, root / "reference", source, reference_url)
            for day in DATES:
                build(ScoreMarkets(as_of=day))
            reference_published = _published(reference_url)
            reference_exports = _exports(root / "reference" / "cache")

            _configure(mp, root, source, url)
            build(Backfill(start=START, end=END, chunk=2))
            first_messages, first_percents = list(messages), list(percents)
            first = _runs(url)
            published, exports = _published(url), _exports(root / "cache")
            rerun = build(Backfill(start=START, end=END, chunk=2))
            _edit_latest_jobs(source)
            reset_settings()
            build(Backfill(start=START, end=END, chunk=2))
            seen = {r[2] for r in first}
            second = [r for r in _runs(url) if r[2] not in seen]
        yield History(
            url,
            root / "cache",
            first,
            rerun,
            second,
            published,
            exports,
            reference_published,
            reference_exports,
            first_messages,
            first_percents,
        )
    finally:
        # Closed here, not left to the garbage collector: a schema dropped by a finaliser at a
        # random later moment (even inside another test's ast.parse) breaks whatever runs then.
        for c in cleanup:
            c.close()


def test_every_date_equals_a_one_date_run(history: History) -> None:
    """Each date's published scores and export are those of scoring that date alone (oldest first)."""
    assert sorted(history.published) == [d.isoformat() for d in DATES]
    assert history.published == history.reference_published
    for day in history.exports:
        assert history.exports[day].equals(history.reference_exports[day]), day


def test_each_date_reads_the_latest_vintage_on_or_before_it(history: History) -> None:
    """The vintages between the dates: every pillar of a date shows the latest vintage <= the date."""
    for day in DATES:
        expected = max(v for v in VINTAGES if v <= day)
        table = history.exports[day.isoformat()]
        for pillar in PILLARS:
            assert set(table[f"{pillar}_vintage"].to_pylist()) == {expected}, (day, pillar)


def test_each_source_is_read_once(history: History) -> None:
    """SourceVintages runs once per dataset for the whole history; each date only cuts it."""
    families = [f for f, _, _ in history.first]
    assert families.count("SourceVintages") == 5
    assert families.count("FetchSource") == 5 * len(DATES)


def test_identical_cuts_share_their_targets(history: History) -> None:
    """No vintage between 2024-03-31 and 2024-06-30: their pillars and composite are computed once."""
    for family, per_date in (("ScorePillar", 4), ("ComposeScores", 1)):
        days = [d for f, d, _ in history.first if f == family]
        assert len(days) == per_date * (len(DATES) - 1), family
        assert len(set(days) & {"2024-03-31", "2024-06-30"}) == 1, family
    assert sorted(d for f, d, _ in history.first if f == "PublishScores") == [d.isoformat() for d in DATES]


def test_rerun_with_nothing_changed_runs_nothing(history: History) -> None:
    """A second backfill of the same range finds it complete."""
    assert history.rerun["completed"] == set()
    assert [t.split("_")[0] for t in history.rerun["already_done"]] == ["Backfill"]


def test_changed_later_vintage_reruns_only_the_dates_that_select_it(history: History) -> None:
    """Editing market_jobs' latest vintage rescores and republishes only the dates whose cut holds it."""
    ran = {f: sorted(d or "" for g, d, _ in history.second if g == f) for f, _, _ in history.second}
    assert ran["SourceVintages"] == [""]  # market_jobs, read once
    assert len(ran["ScorePillar"]) == 1 and set(ran["ScorePillar"]) <= CHANGED  # jobs, shared by both dates
    assert len(ran["ComposeScores"]) == 1 and set(ran["ComposeScores"]) <= CHANGED
    assert set(ran["PublishScores"]) == CHANGED
    assert set(ran["ExportScores"]) == CHANGED


def test_progress_reaches_the_scheduler_as_k_of_n(history: History) -> None:
    """The backfill's status message counts dates published and exported; its progress ends at 100."""
    n = len(DATES)
    assert history.messages == [
        *(f"{k}/{n} dates published, 0/{n} exported" for k in (0, 2, 4)),
        *(f"{n}/{n} dates published, {k}/{n} exported" for k in (0, 2, 4, 5)),
    ]
    assert history.percents == sorted(history.percents) and history.percents[-1] == 100


def test_range_monthly_from_the_command_line(tmp_path: Path, sqlite_url: str) -> None:
    """`luigi --module aker_tasks RangeMonthly --of ScoreMarkets --start ... --stop ...` scores each month."""
    source = copy_sample(tmp_path / "source")
    env = aker_env(tmp_path, source, sqlite_url)
    engine = create_engine_from_url(sqlite_url)
    upgrade(engine)
    engine.dispose()
    done = run_luigi(
        env,
        "RangeMonthly",
        "--of",
        "ScoreMarkets",
        "--start",
        "2024-01",
        "--stop",
        "2024-03",
        "--local-scheduler",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    exports = sorted(p.parent.name for p in (tmp_path / "cache" / "exports").glob("*/scores.csv"))
    assert exports == ["2024-01-01", "2024-02-01"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_range_daily_asks_score_markets_bulk_complete(aker_source: Path, aker_database: str) -> None:
    """RangeDaily (which needs bulk_complete: aker's file names say nothing of dates) scores each day once."""
    from luigi.tools.range import RangeDaily

    from aker_tasks import ScoreMarkets

    days = [dt.date(2024, 1, 1), dt.date(2024, 1, 2)]
    build(RangeDaily(of=ScoreMarkets, param_name="as_of", start=days[0], stop=days[-1] + dt.timedelta(days=1)))
    assert ScoreMarkets.bulk_complete([*days, dt.date(2024, 1, 3)]) == days
