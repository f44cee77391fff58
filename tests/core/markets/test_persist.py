"""replace_pillar_scores and upsert_pillar_scores on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from aker_core.config.weights import normalise_weights as normalised
from aker_core.exceptions import ScoringError
from aker_core.markets import replace_pillar_scores, upsert_pillar_scores
from aker_core.run import RunContext
from aker_data.models import PillarScore

DAY = dt.date(2024, 6, 1)
OTHER_DAY = dt.date(2024, 3, 1)
EQUAL = {"supply": 1, "jobs": 1, "urban": 1, "outdoor": 1}


def _scores(ids: list[str], base: float) -> pa.Table:
    """A composite-shaped table: market i gets pillar scores base + i; the last one misses 'urban'."""
    n = len(ids)
    values = [base + i for i in range(n)]
    urban = [*values[:-1], math.nan]
    return pa.table(
        {
            "msa_id": ids,
            "supply_0_5": values,
            "jobs_0_5": values,
            "urban_0_5": urban,
            "outdoor_0_5": values,
            "weighted_0_5": [*values[:-1], None],
            "weighted_0_100": [*[20 * v for v in values[:-1]], None],
            "missing_pillars": [*([None] * (n - 1)), "urban"],
        }
    )


def _rows(session_factory, day: dt.date = DAY) -> dict[str, PillarScore]:
    with session_factory() as s:
        rows = s.execute(select(PillarScore).where(PillarScore.score_as_of == day)).scalars().all()
        s.expunge_all()
    return {r.msa_id: r for r in rows}


def _run_id(session_factory) -> str:
    """A committed runs row, so the write's check of pillar_scores.run_id passes."""
    with RunContext(session_factory, task_family="test") as run:
        return run.id


def test_replace_replaces_rows_of_the_date(session_factory):
    """Rows of the date are replaced, absent markets removed, other dates untouched."""
    run_id = _run_id(session_factory)
    with session_factory() as s, s.begin():
        upsert_pillar_scores(s, _scores(["A", "B", "C"], 1.0), as_of=DAY, run_id=None, weights=None)
        upsert_pillar_scores(s, _scores(["A", "Z"], 1.0), as_of=OTHER_DAY, run_id=None, weights=None)
    with session_factory() as s, s.begin():
        written = replace_pillar_scores(s, _scores(["B", "D"], 3.0), as_of="2024-06-01", run_id=run_id, weights=EQUAL)
    assert written == 2
    rows = _rows(session_factory)
    assert sorted(rows) == ["B", "D"]
    assert rows["B"].supply_0_5 == pytest.approx(3.0)
    assert rows["B"].weighted_0_100 == pytest.approx(60.0)
    assert rows["B"].missing_pillars is None
    assert rows["D"].urban_0_5 is None  # NaN is stored as NULL on both databases
    assert rows["D"].weighted_0_5 is None
    assert rows["D"].missing_pillars == "urban"
    for row in rows.values():
        assert row.run_id == run_id
        assert row.weights == {"supply": 0.25, "jobs": 0.25, "urban": 0.25, "outdoor": 0.25}
    assert sorted(_rows(session_factory, OTHER_DAY)) == ["A", "Z"]


def test_replace_does_not_commit(session_factory):
    """replace_pillar_scores leaves the transaction to the caller: a rollback restores the old rows."""
    with session_factory() as s, s.begin():
        upsert_pillar_scores(s, _scores(["A", "B"], 1.0), as_of=DAY, run_id=None, weights=None)
    with session_factory() as s:
        replace_pillar_scores(s, _scores(["C"], 2.0), as_of=DAY, run_id=None, weights=None)
        assert s.scalar(select(func.count()).select_from(PillarScore)) == 1  # visible inside the transaction
        s.rollback()
    assert sorted(_rows(session_factory)) == ["A", "B"]


def test_replace_with_connection_and_empty_table(engine, session_factory):
    """A Connection works too; an empty table clears the date."""
    with session_factory() as s, s.begin():
        upsert_pillar_scores(s, _scores(["A"], 1.0), as_of=DAY, run_id=None, weights=None)
    with engine.begin() as conn:
        assert replace_pillar_scores(conn, _scores(["A"], 1.0).slice(0, 0), as_of=DAY, run_id=None, weights=None) == 0
    assert _rows(session_factory) == {}


def test_replace_rejects_missing_columns(session_factory):
    """A table without the score columns is a ScoringError naming them."""
    with session_factory() as s, pytest.raises(ScoringError, match=r"replace_pillar_scores.*weighted_0_5"):
        replace_pillar_scores(s, _scores(["A"], 1.0).drop(["weighted_0_5"]), as_of=DAY, run_id=None, weights=None)


def test_upsert_updates_in_place(session_factory):
    """Upserting a date twice updates existing keys, adds new ones and keeps the others."""
    with session_factory() as s, s.begin():
        assert upsert_pillar_scores(s, _scores(["A", "B"], 1.0), as_of=DAY, run_id=None, weights=None) == 2
    with session_factory() as s, s.begin():
        upsert_pillar_scores(s, _scores(["B", "C"], 4.0), as_of=DAY, run_id=None, weights=EQUAL)
    rows = _rows(session_factory)
    assert sorted(rows) == ["A", "B", "C"]
    assert rows["A"].supply_0_5 == pytest.approx(1.0)
    assert rows["B"].supply_0_5 == pytest.approx(4.0)
    assert rows["B"].weights == {"supply": 0.25, "jobs": 0.25, "urban": 0.25, "outdoor": 0.25}
    assert rows["C"].urban_0_5 is None
    assert rows["C"].missing_pillars == "urban"


@pytest.mark.parametrize("write", [replace_pillar_scores, upsert_pillar_scores])
def test_run_id_with_quotes_is_stored_verbatim(session_factory, write):
    """A run id containing quotes and SQL is stored as given (the constant columns are escaped, not spliced)."""
    from aker_data.models import Run

    nasty = "r'); DROP TABLE runs; --"
    with session_factory() as s, s.begin():
        s.add(
            Run(
                run_id=nasty,
                git_sha="x",
                config_hash="x",
                config_json={},
                seed=1,
                started_at=dt.datetime.now(dt.UTC),
                status="completed",
            )
        )
    with session_factory() as s, s.begin():
        assert write(s, _scores(["A", "B"], 1.0), as_of=DAY, run_id=nasty, weights=EQUAL) == 2
    rows = _rows(session_factory)
    assert {r.run_id for r in rows.values()} == {nasty}
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 1


def test_replace_twice_in_one_run_keeps_only_the_second_table(session_factory):
    """Replacing a date twice with the same run id leaves exactly the second table's markets."""
    run_id = _run_id(session_factory)
    with session_factory() as s, s.begin():
        upsert_pillar_scores(s, _scores(["A", "B", "C"], 1.0), as_of=DAY, run_id=None, weights=None)
    with session_factory() as s, s.begin():
        replace_pillar_scores(s, _scores(["A", "B"], 2.0), as_of=DAY, run_id=run_id, weights=None)
        replace_pillar_scores(s, _scores(["B", "E"], 3.0), as_of=DAY, run_id=run_id, weights=None)
    rows = _rows(session_factory)
    assert sorted(rows) == ["B", "E"]
    assert rows["B"].supply_0_5 == pytest.approx(3.0)


def test_replace_rejects_duplicate_ids_when_rewriting_a_date(session_factory):
    """Duplicate msa_ids fail on the unique key even when the date already has rows, and nothing changes."""
    from sqlalchemy.exc import IntegrityError

    run_id = _run_id(session_factory)
    with session_factory() as s, s.begin():
        upsert_pillar_scores(s, _scores(["A", "B"], 1.0), as_of=DAY, run_id=None, weights=None)
    with session_factory() as s, pytest.raises(IntegrityError), s.begin():
        replace_pillar_scores(s, _scores(["C", "C"], 2.0), as_of=DAY, run_id=run_id, weights=None)
    assert sorted(_rows(session_factory)) == ["A", "B"]


def test_replace_same_size_but_other_markets_keeps_exactly_the_new_ones(session_factory):
    """A date rewritten with as many markets but not the same ones holds exactly the new markets."""
    run_id = _run_id(session_factory)
    with session_factory() as s, s.begin():
        upsert_pillar_scores(s, _scores(["A", "B", "C"], 1.0), as_of=DAY, run_id=None, weights=None)
    with session_factory() as s, s.begin():
        replace_pillar_scores(s, _scores(["A", "C", "D"], 2.0), as_of=DAY, run_id=run_id, weights=None)
    rows = _rows(session_factory)
    assert sorted(rows) == ["A", "C", "D"]
    assert {r.run_id for r in rows.values()} == {run_id}
    assert rows["A"].supply_0_5 == pytest.approx(2.0)


def test_replace_same_markets_rewrites_every_column(session_factory):
    """Rewriting a date with the same markets replaces scores, weights, missing pillars and run id."""
    first, second = _run_id(session_factory), _run_id(session_factory)
    with session_factory() as s, s.begin():
        replace_pillar_scores(s, _scores(["A", "B"], 1.0), as_of=DAY, run_id=first, weights=None)
    table = _scores(["B", "A"], 4.0)  # unsorted input; B is now the market missing 'urban'
    with session_factory() as s, s.begin():
        assert replace_pillar_scores(s, table, as_of=DAY, run_id=second, weights=EQUAL) == 2
    rows = _rows(session_factory)
    assert rows["B"].supply_0_5 == pytest.approx(4.0)
    assert rows["B"].urban_0_5 == pytest.approx(4.0)
    assert rows["B"].missing_pillars is None
    assert rows["A"].urban_0_5 is None
    assert rows["A"].missing_pillars == "urban"
    assert {r.run_id for r in rows.values()} == {second}
    assert {tuple(sorted(r.weights.items())) for r in rows.values()} == {tuple(sorted(normalised(EQUAL).items()))}


def test_replace_rejects_a_repeated_id_among_existing_markets(session_factory):
    """A table repeating an existing market (as many rows as the date holds) fails on the unique key."""
    from sqlalchemy.exc import IntegrityError

    run_id = _run_id(session_factory)
    with session_factory() as s, s.begin():
        upsert_pillar_scores(s, _scores(["A", "B"], 1.0), as_of=DAY, run_id=None, weights=None)
    with session_factory() as s, pytest.raises(IntegrityError), s.begin():
        replace_pillar_scores(s, _scores(["A", "A"], 2.0), as_of=DAY, run_id=run_id, weights=None)
    rows = _rows(session_factory)
    assert sorted(rows) == ["A", "B"]
    assert rows["A"].supply_0_5 == pytest.approx(1.0)


@pytest.mark.parametrize("write", [replace_pillar_scores, upsert_pillar_scores])
def test_write_naming_a_missing_run_writes_nothing(session_factory, write):
    """A run id that runs does not hold is an UnknownRunError naming it, raised before any row is
    written: even a caller that commits afterwards keeps the date's previous rows."""
    from aker_data.exceptions import UnknownRunError

    first = _run_id(session_factory)
    with session_factory() as s, s.begin():
        replace_pillar_scores(s, _scores(["A", "B"], 1.0), as_of=DAY, run_id=first, weights=None)
    with session_factory() as s:
        with pytest.raises(UnknownRunError, match=r"pillar_scores\.run_id 'no-such-run' names no row of runs"):
            write(s, _scores(["B", "C"], 2.0), as_of=DAY, run_id="no-such-run", weights=None)
        s.commit()
    rows = _rows(session_factory)
    assert sorted(rows) == ["A", "B"]
    assert {r.run_id for r in rows.values()} == {first}
    assert rows["B"].supply_0_5 == pytest.approx(2.0)  # _scores: B is market 1 of base 1.0


def test_sqlite_run_deleted_between_check_and_write_is_caught(sqlite_url):
    """SQLite: a run deleted by another connection after the check, before the write took the lock,
    fails the write (the check is repeated under the lock) and the rollback keeps the old rows."""
    from sqlalchemy import event, text
    from sqlalchemy.orm import sessionmaker

    from aker_data.engine import create_engine_from_url
    from aker_data.exceptions import UnknownRunError
    from aker_data.migrate import upgrade

    engine, other = create_engine_from_url(sqlite_url), create_engine_from_url(sqlite_url)
    try:
        upgrade(engine)
        factory = sessionmaker(bind=engine)
        run_id = _run_id(factory)
        with factory() as s, s.begin():
            replace_pillar_scores(s, _scores(["A", "B"], 1.0), as_of=DAY, run_id=None, weights=None)

        def delete_run_first(_conn, _cursor, statement, *_args):
            if statement.startswith("DELETE FROM pillar_scores"):
                with other.begin() as conn:
                    conn.execute(text("DELETE FROM runs WHERE run_id = :r"), {"r": run_id})

        event.listen(engine, "before_cursor_execute", delete_run_first)
        with factory() as s, pytest.raises(UnknownRunError, match=run_id), s.begin():
            replace_pillar_scores(s, _scores(["C"], 2.0), as_of=DAY, run_id=run_id, weights=None)
        event.remove(engine, "before_cursor_execute", delete_run_first)
        assert sorted(_rows(factory)) == ["A", "B"]
    finally:
        engine.dispose()
        other.dispose()
