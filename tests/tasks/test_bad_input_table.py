"""A table of bad source inputs, each run through the real `luigi` command on SQLite and PostgreSQL.

For every case: the graph first ran once on good data (once per backend, shared by the cases:
targets are content-addressed and ``pillar_scores`` is only replaced by a successful run), then
one source is corrupted and `luigi --module aker_tasks ScoreMarkets` runs again. It must exit 30
with exactly one ``ERROR`` line naming the dataset, the column and the row (where they apply), print
no traceback, leave ``pillar_scores`` exactly as the good run left it and keep the good composite.
"""

from __future__ import annotations

import csv
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from aker_data.engine import create_engine_from_url
from aker_data.migrate import upgrade
from aker_data.models import PillarScore, Run
from tests.conftest import pg_base_dsn, require_postgres
from tests.tasks.luigiproc import SAMPLE_DIR, aker_env, run_luigi

pytestmark = pytest.mark.slow

AS_OF = "2024-06-01"
#: Error exit code of `luigi --module aker_tasks` ([retcode] task_failed, README "Exit codes").
TASK_FAILED = 30


# --- corrupting one source file ------------------------------------------------------------------


def _csv(src: Path, dataset: str) -> Path:
    return src / f"{dataset}.csv"


def _read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def set_cell(dataset: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    """Set one cell (row 1 = first data row) to ``value``, written as CSV (quoted when needed)."""

    def corrupt(src: Path) -> None:
        rows = _read_rows(_csv(src, dataset))
        rows[row][rows[0].index(column)] = value
        _write_rows(_csv(src, dataset), rows)

    return corrupt


def set_raw(dataset: str, row: int, column: str, value: bytes) -> Callable[[Path], None]:
    """Set one cell to raw bytes (for bytes no CSV writer produces). Only for rows without quoted
    commas, i.e. any market_* file, or markets' msa_id."""

    def corrupt(src: Path) -> None:
        path = _csv(src, dataset)
        lines = path.read_bytes().split(b"\n")
        index = [h.strip(b'"').decode() for h in lines[0].split(b",")].index(column)
        cells = lines[row].split(b",")
        cells[index] = value
        lines[row] = b",".join(cells)
        path.write_bytes(b"\n".join(lines))

    return corrupt


def edit_lines(dataset: str, edit: Callable[[list[bytes]], list[bytes]]) -> Callable[[Path], None]:
    """Apply ``edit`` to the file's lines (bytes, header first)."""

    def corrupt(src: Path) -> None:
        path = _csv(src, dataset)
        path.write_bytes(b"\n".join(edit(path.read_bytes().split(b"\n"))))

    return corrupt


def drop_column(dataset: str, column: str) -> Callable[[Path], None]:
    """Remove one column from a CSV file."""

    def corrupt(src: Path) -> None:
        rows = _read_rows(_csv(src, dataset))
        index = rows[0].index(column)
        _write_rows(_csv(src, dataset), [r[:index] + r[index + 1 :] for r in rows])

    return corrupt


def repeat_column(dataset: str, column: str) -> Callable[[Path], None]:
    """Append a second copy of ``column`` to a CSV file."""

    def corrupt(src: Path) -> None:
        rows = _read_rows(_csv(src, dataset))
        index = rows[0].index(column)
        _write_rows(_csv(src, dataset), [[*r, r[index]] for r in rows])

    return corrupt


def replace_file(dataset: str, make: Callable[[Path], None]) -> Callable[[Path], None]:
    """Remove ``<dataset>.csv`` and let ``make`` create something at that path instead."""

    def corrupt(src: Path) -> None:
        path = _csv(src, dataset)
        path.unlink()
        make(path)

    return corrupt


def as_parquet(
    dataset: str, change: Callable[[pa.Table], pa.Table] = lambda t: t, after: Callable[[Path], None] | None = None
) -> Callable[[Path], None]:
    """Replace ``<dataset>.csv`` by ``<dataset>.parquet`` holding ``change(table)``; then ``after(path)``."""

    def corrupt(src: Path) -> None:
        path = _csv(src, dataset)
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={"msa_id": pa.string()}))
        path.unlink()
        target = path.with_suffix(".parquet")
        pq.write_table(change(table), target)
        if after is not None:
            after(target)

    return corrupt


def set_value(column: str, row: int, value: Any, kind: pa.DataType | None = None) -> Callable[[pa.Table], pa.Table]:
    """Set ``table[column][row - 1]`` (row 1 = first data row), the column stored as ``kind`` first."""

    def change(table: pa.Table) -> pa.Table:
        index = table.column_names.index(column)
        kind_ = kind or table.schema.field(column).type
        values = table.column(column).to_pylist()
        if kind_ == pa.string():
            values = [None if v is None else str(v) for v in values]
        elif kind_ == pa.binary():
            values = [None if v is None else str(v).encode() for v in values]
        else:
            values = pc.cast(table.column(column), kind_).to_pylist()
        values[row - 1] = value
        return table.set_column(index, column, pa.array(values, kind_))

    return change


def replace_column(column: str, make: Callable[[pa.ChunkedArray, pa.Table], Any]) -> Callable[[pa.Table], pa.Table]:
    """Replace ``column`` by ``make(column, table)``."""

    def change(table: pa.Table) -> pa.Table:
        index = table.column_names.index(column)
        return table.set_column(index, column, make(table.column(column), table))

    return change


def retype(column: str, kind: pa.DataType) -> Callable[[pa.Table], pa.Table]:
    """Store ``column`` as ``kind``."""

    def change(table: pa.Table) -> pa.Table:
        index = table.column_names.index(column)
        return table.set_column(index, column, pc.cast(table.column(column), kind))

    return change


def _as_lists(column: pa.ChunkedArray, table: pa.Table) -> pa.Array:
    return pa.array([[v] for v in column.to_pylist()])


def _overwrite_footer(path: Path) -> None:
    # The footer (file metadata) sits just before its 4-byte length and the closing magic.
    data = bytearray(path.read_bytes())
    data[-40:-8] = b"\xff" * 32
    path.write_bytes(bytes(data))


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, what the error line must name, and whether it is known to fail."""

    corrupt: Callable[[Path], None]
    dataset: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    #: Words the message must contain besides dataset/column/row.
    words: tuple[str, ...] = ()
    #: Found while Luigi schedules the graph (computing task ids), not inside a task.
    while_scheduling: bool = False


CASES: dict[str, Case] = {
    # --- CSV ---
    "csv missing dataset file": Case(lambda s: _csv(s, "market_urban").unlink(), "market_urban", while_scheduling=True),
    "csv missing metric column": Case(drop_column("market_supply", "tom_days"), "market_supply", "tom_days"),
    "csv missing data_vintage column": Case(drop_column("market_jobs", "data_vintage"), "market_jobs", "data_vintage"),
    "csv markets without name column": Case(drop_column("markets", "name"), "markets", "name"),
    "csv text in metric column": Case(
        set_cell("market_supply", 3, "vacancy_rate", "abc"), "market_supply", "vacancy_rate", (3,), ("'abc'",)
    ),
    "csv percent sign in metric": Case(
        set_cell("market_jobs", 5, "unemployment_rate", "4.3%"), "market_jobs", "unemployment_rate", (5,)
    ),
    "csv thousands separator": Case(
        set_cell("market_urban", 3, "daytime_pop_1mi", "215,000"), "market_urban", "daytime_pop_1mi", (3,)
    ),
    "csv unparseable date": Case(
        set_cell("market_jobs", 2, "data_vintage", "2024-13-45"), "market_jobs", "data_vintage", (2,)
    ),
    "csv impossible date": Case(
        set_cell("market_outdoors", 5, "data_vintage", "2024-02-30"), "market_outdoors", "data_vintage", (5,)
    ),
    "csv US date format": Case(
        set_cell("market_urban", 4, "data_vintage", "03/31/2024"), "market_urban", "data_vintage", (4,)
    ),
    "csv missing date": Case(set_cell("market_supply", 6, "data_vintage", ""), "market_supply", "data_vintage", (6,)),
    "csv empty msa_id": Case(set_cell("market_outdoors", 4, "msa_id", ""), "market_outdoors", "msa_id", (4,)),
    "csv blank msa_id": Case(set_cell("market_jobs", 7, "msa_id", "   "), "market_jobs", "msa_id", (7,)),
    "csv duplicate (msa_id, data_vintage)": Case(
        edit_lines("market_urban", lambda lines: [*lines[:6], lines[5], *lines[6:]]),
        "market_urban",
        "data_vintage",
        (5, 6),
        ("duplicate",),
    ),
    "csv markets duplicate msa_id": Case(
        set_cell("markets", 2, "msa_id", "12060"), "markets", "msa_id", (1, 2), ("duplicate",)
    ),
    "csv infinite value": Case(
        set_cell("market_supply", 2, "permit_per_1k", "inf"), "market_supply", "permit_per_1k", (2,), ("infinite",)
    ),
    "csv minus infinity": Case(
        set_cell("market_jobs", 9, "tech_lq", "-Infinity"), "market_jobs", "tech_lq", (9,), ("infinite",)
    ),
    "csv bad flag": Case(set_cell("market_urban", 6, "lastmile_flag", "maybe"), "market_urban", "lastmile_flag", (6,)),
    "csv empty file": Case(lambda s: _csv(s, "market_jobs").write_bytes(b""), "market_jobs", words=("no rows",)),
    "csv blank lines only": Case(lambda s: _csv(s, "markets").write_bytes(b"\n\n\n"), "markets", words=("no rows",)),
    "csv header only": Case(
        edit_lines("market_outdoors", lambda lines: lines[:1]), "market_outdoors", words=("no rows",)
    ),
    "csv column twice": Case(repeat_column("market_urban", "retail_vac"), "market_urban", "retail_vac"),
    "csv bad byte in metric cell": Case(
        set_raw("market_supply", 4, "height_idx", b"3\xff1"), "market_supply", "height_idx", (4,), ("UTF-8",)
    ),
    "csv bad byte in msa_id": Case(
        set_raw("market_urban", 8, "msa_id", b'"14\xe960"'), "market_urban", "msa_id", (8,), ("UTF-8",)
    ),
    "csv bad byte in market name": Case(
        edit_lines("markets", lambda lines: [*lines[:5], b'"16740","Caf\xe9 City, NC"', *lines[6:]]),
        "markets",
        "name",
        (5,),
        ("UTF-8",),
    ),
    "csv bad byte in header": Case(
        edit_lines("market_jobs", lambda lines: [lines[0].replace(b"tech_lq", b"tech\xfflq"), *lines[1:]]),
        "market_jobs",
        words=("header",),
    ),
    "csv binary garbage": Case(lambda s: _csv(s, "market_supply").write_bytes(bytes(range(256)) * 8), "market_supply"),
    "csv ragged row, too few cells": Case(
        edit_lines("market_outdoors", lambda lines: [*lines[:3], lines[3].rsplit(b",", 1)[0], *lines[4:]]),
        "market_outdoors",
        rows=(3,),
        words=("cells",),
    ),
    "csv ragged row, too many cells": Case(
        edit_lines("market_supply", lambda lines: [*lines[:10], lines[10] + b",1", *lines[11:]]),
        "market_supply",
        rows=(10,),
        words=("cells",),
    ),
    # The quote ends on the next line: one cell spanning two lines, too long for an msa_id.
    "csv unbalanced quote": Case(set_raw("market_jobs", 4, "msa_id", b'"12420'), "market_jobs", "msa_id", (4,)),
    # Nothing closes it: the rest of the file is one cell of the last row.
    "csv unterminated quote": Case(
        edit_lines("market_supply", lambda lines: [*lines[:-2], lines[-2].replace(b",10.8,", b',"10.8,'), lines[-1]]),
        "market_supply",
        rows=(94,),
        words=("cells",),
    ),
    "csv msa_id too long": Case(set_cell("market_urban", 2, "msa_id", "9" * 33), "market_urban", "msa_id", (2,)),
    "csv msa_id with NUL": Case(set_raw("market_jobs", 3, "msa_id", b'"124\x0020"'), "market_jobs", "msa_id", (3,)),
    "csv market name too long": Case(set_cell("markets", 4, "name", "N" * 256), "markets", "name", (4,)),
    "csv market name with NUL": Case(set_cell("markets", 7, "name", "Bad\x00Name"), "markets", "name", (7,)),
    "csv directory instead of file": Case(
        replace_file("market_supply", lambda p: p.mkdir()), "market_supply", words=("directory",), while_scheduling=True
    ),
    "csv symlink loop": Case(
        replace_file("market_outdoors", lambda p: p.symlink_to(p.name)),
        "market_outdoors",
        words=("loop",),
        while_scheduling=True,
    ),
    "csv broken symlink": Case(
        replace_file("market_jobs", lambda p: p.symlink_to("nowhere.csv")),
        "market_jobs",
        words=("broken",),
        while_scheduling=True,
    ),
    "csv and parquet both present": Case(
        lambda s: pq.write_table(pacsv.read_csv(_csv(s, "market_urban")), s / "market_urban.parquet"),
        "market_urban",
        words=("ambiguous",),
        while_scheduling=True,
    ),
    # --- parquet ---
    "parquet missing metric column": Case(
        as_parquet("market_jobs", lambda t: t.drop_columns(["tech_lq"])), "market_jobs", "tech_lq"
    ),
    "parquet text in metric column": Case(
        as_parquet("market_outdoors", set_value("park_min", 4, "lots", pa.string())),
        "market_outdoors",
        "park_min",
        (4,),
    ),
    "parquet unparseable date": Case(
        as_parquet("market_supply", set_value("data_vintage", 3, "2024-13-01", pa.string())),
        "market_supply",
        "data_vintage",
        (3,),
    ),
    "parquet missing date": Case(
        as_parquet("market_urban", set_value("data_vintage", 4, None)), "market_urban", "data_vintage", (4,)
    ),
    "parquet date stored as integer": Case(
        as_parquet("market_jobs", retype("data_vintage", pa.int32())), "market_jobs", "data_vintage"
    ),
    "parquet null msa_id": Case(
        as_parquet("market_urban", set_value("msa_id", 6, None)), "market_urban", "msa_id", (6,)
    ),
    "parquet empty msa_id": Case(as_parquet("market_jobs", set_value("msa_id", 2, "")), "market_jobs", "msa_id", (2,)),
    "parquet msa_id stored as float": Case(
        as_parquet("market_supply", retype("msa_id", pa.float64())), "market_supply", "msa_id"
    ),
    "parquet msa_id invalid UTF-8": Case(
        as_parquet("market_outdoors", set_value("msa_id", 3, b"124\xff20", pa.binary())),
        "market_outdoors",
        "msa_id",
        (3,),
        ("UTF-8",),
    ),
    "parquet duplicate (msa_id, data_vintage)": Case(
        as_parquet("market_outdoors", lambda t: pa.concat_tables([t.slice(0, 7), t.slice(6, 1), t.slice(8)])),
        "market_outdoors",
        "data_vintage",
        (7, 8),
        ("duplicate",),
    ),
    "parquet infinite value": Case(
        as_parquet("market_supply", set_value("vacancy_rate", 5, float("inf"))), "market_supply", "vacancy_rate", (5,)
    ),
    "parquet boolean in metric column": Case(
        as_parquet("market_urban", replace_column("retail_vac", lambda c, t: t.column("lastmile_flag"))),
        "market_urban",
        "retail_vac",
    ),
    "parquet flag 2": Case(
        as_parquet("market_urban", set_value("lastmile_flag", 3, 2, pa.int64())), "market_urban", "lastmile_flag", (3,)
    ),
    "parquet list in metric column": Case(
        as_parquet(
            "market_outdoors", replace_column("smoke_days", lambda c, t: pa.array([[v] for v in c.to_pylist()]))
        ),
        "market_outdoors",
        "smoke_days",
    ),
    "parquet column twice": Case(
        as_parquet("market_supply", lambda t: t.append_column("permit_per_1k", t.column("permit_per_1k"))),
        "market_supply",
        "permit_per_1k",
    ),
    "parquet msa_id too long": Case(
        as_parquet("market_jobs", set_value("msa_id", 9, "9" * 40)), "market_jobs", "msa_id", (9,)
    ),
    "parquet msa_id with NUL": Case(
        as_parquet("market_outdoors", set_value("msa_id", 2, "120\x0060")), "market_outdoors", "msa_id", (2,)
    ),
    "parquet market name too long": Case(
        as_parquet("markets", set_value("name", 2, "N" * 300)), "markets", "name", (2,)
    ),
    "parquet no rows": Case(as_parquet("market_urban", lambda t: t.slice(0, 0)), "market_urban", words=("no rows",)),
    "parquet empty file": Case(
        as_parquet("markets", after=lambda p: p.write_bytes(b"")), "markets", words=("no rows",)
    ),
    "parquet truncated": Case(
        as_parquet("market_outdoors", after=lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])),
        "market_outdoors",
        words=("corrupt",),
    ),
    "parquet corrupt footer": Case(
        as_parquet("market_jobs", after=_overwrite_footer), "market_jobs", words=("corrupt",)
    ),
    "parquet text file named .parquet": Case(
        as_parquet("market_supply", after=lambda p: p.write_text("msa_id,data_vintage\n1,2024-01-01\n")),
        "market_supply",
        words=("corrupt",),
    ),
    "parquet directory instead of file": Case(
        replace_file("market_jobs", lambda p: p.with_suffix(".parquet").mkdir()),
        "market_jobs",
        words=("directory",),
        while_scheduling=True,
    ),
}


def _params() -> list[Any]:
    return [pytest.param(name, id=name.replace(" ", "-")) for name in sorted(CASES)]


# --- one good run per backend ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for the whole module: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('bad-input-db') / 'aker.db'}"
        engine = create_engine_from_url(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine_from_url(pg_base_dsn())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(pg_base_dsn()).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    try:
        engine = create_engine_from_url(rendered)
        upgrade(engine)
        engine.dispose()
        yield rendered
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass(frozen=True)
class GoodRun:
    """The state after one successful run of the whole graph."""

    home: Path
    source: Path
    env: dict[str, str]
    db_url: str
    #: Every pillar_scores row, in id order.
    scores: list[tuple[Any, ...]]
    #: The composite targets (ComposeScores parquet files) and their bytes.
    composites: dict[Path, bytes]


def _scores(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine_from_url(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(PillarScore.__table__).order_by(PillarScore.id))]
    finally:
        engine.dispose()


def _running_runs(url: str) -> int:
    engine = create_engine_from_url(url)
    try:
        with engine.connect() as conn:
            return len(conn.execute(select(Run.run_id).where(Run.status == "running")).all())
    finally:
        engine.dispose()


def _composites(home: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted((home / "cache" / "targets" / "ComposeScores").rglob("*.parquet"))}


@pytest.fixture(scope="module")
def good_run(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> GoodRun:
    """The sample scored once on this backend; the bad cases reuse its cache and database."""
    home = tmp_path_factory.mktemp("bad-input")
    source = home / "source"
    shutil.copytree(SAMPLE_DIR, source)
    env = aker_env(home, source, db_url)
    proc = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", cwd=home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = _scores(db_url)
    composites = _composites(home)
    assert scores and composites
    return GoodRun(home, source, env, db_url, scores, composites)


@pytest.fixture
def clean_source(good_run: GoodRun) -> Iterator[Path]:
    """The good run's source directory, restored to the sample before each case."""
    shutil.rmtree(good_run.source)
    shutil.copytree(SAMPLE_DIR, good_run.source)
    yield good_run.source
    shutil.rmtree(good_run.source)
    shutil.copytree(SAMPLE_DIR, good_run.source)


# --- the table ------------------------------------------------------------------------------------


def test_table_has_enough_cases() -> None:
    """The issue asks for at least 40 bad inputs, in CSV and parquet."""
    assert len(CASES) >= 40
    assert sum(name.startswith("csv") for name in CASES) >= 20
    assert sum(name.startswith("parquet") for name in CASES) >= 15


@pytest.mark.parametrize("case", _params())
def test_bad_input(case: str, good_run: GoodRun, clean_source: Path) -> None:
    """Exit 30, one ERROR line naming dataset/column/row, no traceback, nothing persisted, good results kept."""
    spec = CASES[case]
    spec.corrupt(clean_source)
    proc = run_luigi(good_run.env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", cwd=good_run.home)
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output[-4000:]
    assert proc.returncode == TASK_FAILED, output[-4000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, errors
    line = errors[0]
    assert f"'{spec.dataset}'" in line, line
    assert "DataValidationError" in line, line
    if spec.column is not None:
        assert f"'{spec.column}'" in line, line
    for row in spec.rows:
        assert re.search(rf"\brow {row}\b", line), (row, line)
    for word in spec.words:
        assert word in line, (word, line)
    # Nothing persisted, earlier results intact.
    assert _scores(good_run.db_url) == good_run.scores
    assert _composites(good_run.home) == good_run.composites
    assert _running_runs(good_run.db_url) == 0


def test_good_sample_still_runs(good_run: GoodRun, clean_source: Path) -> None:
    """After the bad cases, the restored sample reruns from the cache with exit 0 and the same scores."""
    proc = run_luigi(good_run.env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", cwd=good_run.home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _scores(good_run.db_url) == good_run.scores
