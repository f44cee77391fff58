"""PillarScoreService, upsert_pillar_scores and score_many on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import event, func, select

from aker_core.exceptions import ScoringError
from aker_core.markets import PillarScoreService, score, score_many
from aker_core.sample import generate, load_source_dir, load_tables
from aker_core.scoring import METRICS_BY_PILLAR, latest_as_of
from aker_core.sources import SCHEMAS, read_table_from_db
from aker_data.models import PillarScore
from tests.core.scoring.handmarket import BY_PILLAR, SCORES

TABLES = {"supply": "market_supply", "jobs": "market_jobs", "urban": "market_urban", "outdoor": "market_outdoors"}


def _hand_tables(vintage: dt.date, scale_future: bool = False) -> dict[str, pa.Table]:
    """The hand-scored market 'H' at one vintage (values of the worked examples)."""
    out = {"markets": pa.table({"msa_id": ["H"], "name": ["Hand"]}, schema=SCHEMAS["markets"])}
    for pillar, table in TABLES.items():
        row = {"msa_id": "H", "data_vintage": vintage}
        for metric in METRICS_BY_PILLAR[pillar]:
            value = BY_PILLAR[pillar][metric]
            if scale_future and isinstance(value, float) and not math.isnan(value):
                value = value * 3 + 7  # very different: look-ahead would change the scores
            row[metric] = None if isinstance(value, float) and math.isnan(value) else value
        out[table] = pa.Table.from_pylist([row], schema=SCHEMAS[table])
    return out


def _load(session_factory, tables):
    with session_factory() as s, s.begin():
        load_tables(s, tables)


def test_values_persisted(session_factory):
    """The hand market's pillar and composite scores are stored and returned."""
    _load(session_factory, _hand_tables(dt.date(2024, 3, 31)))
    with session_factory() as s, s.begin():
        result = PillarScoreService(s).refresh_one("H", as_of="2024-06-01")
    expected = 0.3 * 3.0 + 0.3 * 2.25 + 0.2 * 2.25 + 0.2 * 8 / 3
    assert result.weighted_0_5 == pytest.approx(expected)
    with session_factory() as s:
        row = s.execute(select(PillarScore)).scalar_one()
    assert row.score_as_of == dt.date(2024, 6, 1)
    for pillar, value in SCORES.items():
        assert getattr(row, f"{pillar}_0_5") == pytest.approx(value)
    assert row.weighted_0_100 == pytest.approx(20 * expected)
    assert row.weights == pytest.approx({"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2})
    assert row.missing_pillars is None


def test_point_in_time_ignores_later_vintage(session_factory):
    """A vintage after as_of is not used; as of its date it is."""
    _load(session_factory, _hand_tables(dt.date(2024, 3, 31)))
    _load(session_factory, _hand_tables(dt.date(2024, 9, 30), scale_future=True))
    with session_factory() as s, s.begin():
        before = PillarScoreService(s).refresh_one("H", as_of="2024-06-01")
        after = PillarScoreService(s).refresh_one("H", as_of="2024-09-30")
    assert before.supply_0_5 == pytest.approx(SCORES["supply"])
    assert after.supply_0_5 != pytest.approx(SCORES["supply"])


def test_upsert_idempotent(session_factory):
    """Refreshing the same as_of twice updates rows in place (no duplicates), keeping the new run_id."""
    with session_factory() as s, s.begin():
        load_source_dir(s, "sample")
    for weights in (None, {"supply": 1, "jobs": 1, "urban": 1, "outdoor": 1}):
        with session_factory() as s, s.begin():
            PillarScoreService(s).refresh_many(as_of="2024-06-01", weights=weights)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(PillarScore)) == 43
        weights = s.execute(select(PillarScore.weights).limit(1)).scalar_one()
    assert weights == {"supply": 0.25, "jobs": 0.25, "urban": 0.25, "outdoor": 0.25}


def test_sample_incomplete_markets(session_factory):
    """Sample markets lacking a pillar are stored with missing_pillars and no composite."""
    with session_factory() as s, s.begin():
        load_source_dir(s, "sample")
        results = PillarScoreService(s).refresh_many(as_of="2024-06-01")
    incomplete = {r.msa_id: r.missing_pillars for r in results if not r.complete}
    assert incomplete == {"14260": ("outdoor",), "40060": ("urban",)}
    assert [r.msa_id for r in results] == sorted(r.msa_id for r in results)
    assert all(r.weighted_0_100 is not None for r in results if r.complete)


def test_does_not_commit(session_factory):
    """The service leaves the transaction to the caller: a rollback discards the scores."""
    _load(session_factory, _hand_tables(dt.date(2024, 3, 31)))
    with session_factory() as s:
        PillarScoreService(s).refresh_many(as_of="2024-06-01")
        s.rollback()
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(PillarScore)) == 0


def test_unknown_market_raises(session_factory):
    """Asking for an unknown msa_id is a ScoringError naming it."""
    _load(session_factory, _hand_tables(dt.date(2024, 3, 31)))
    with session_factory() as s, pytest.raises(ScoringError, match="'nope'"):
        PillarScoreService(s).refresh_many(["H", "nope"], as_of="2024-06-01")


def _count_statements(session_factory, engine, markets: int) -> int:
    tables = generate(markets, 2, seed=1)
    _load(session_factory, tables)
    statements = []

    def _count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        with session_factory() as s, s.begin():
            PillarScoreService(s).refresh_many(as_of="2024-06-01")
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    return len(statements)


def test_statement_count_constant(session_factory, engine):
    """10 and 1,000 markets take the same number of SQL statements."""
    small = _count_statements(session_factory, engine, 10)
    with session_factory() as s, s.begin():
        for table in ("pillar_scores", *TABLES.values(), "markets"):
            s.execute(PillarScore.metadata.tables[table].delete())
    large = _count_statements(session_factory, engine, 1000)
    assert small == large


def test_score_many_recomposes_stored_scores(session_factory):
    """score()/score_many() re-weight stored pillar scores without rescoring sources."""
    _load(session_factory, _hand_tables(dt.date(2024, 3, 31)))
    with session_factory() as s, s.begin():
        PillarScoreService(s).refresh_many(as_of="2024-06-01", run_id=None)
    with session_factory() as s:
        equal = score(s, "H", as_of="2024-06", weights={"supply": 1, "jobs": 1, "urban": 1, "outdoor": 1})
        assert equal.weighted_0_5 == pytest.approx(sum(SCORES.values()) / 4)
        assert [r.msa_id for r in score_many(s, as_of=dt.date(2024, 6, 1))] == ["H"]
        with pytest.raises(ScoringError, match="no stored pillar scores"):
            score(s, "H", as_of="2020-01-01")


@pytest.mark.parametrize("as_of", [dt.date(2023, 9, 29), dt.date(2024, 1, 15), dt.date(2024, 3, 31)])
def test_latest_in_sql_equals_latest_as_of(session_factory, as_of):
    """Selecting the latest vintage in SQL keeps exactly the rows latest_as_of keeps (vintages after as_of present)."""
    tables = generate(40, 3, seed=3)
    for name in TABLES.values():
        # Drop rows irregularly so markets differ: some lack a vintage, some only have future ones.
        keep = [(i * 7 + len(name)) % 5 != 0 for i in range(tables[name].num_rows)]
        tables[name] = tables[name].filter(pa.array(keep))
    _load(session_factory, tables)
    ids = sorted(set(tables["market_jobs"].column("msa_id").to_pylist()))
    with session_factory() as s:
        for name in TABLES.values():
            expected = latest_as_of(read_table_from_db(s, name), as_of)
            assert read_table_from_db(s, name, max_vintage=as_of, latest=True).equals(expected)
            subset = [*ids[::3], "not-a-market"]
            wanted = expected.filter(pc.is_in(expected.column("msa_id"), value_set=pa.array(subset)))
            got = read_table_from_db(s, name, max_vintage=as_of, latest=True, msa_ids=subset)
            assert got.equals(wanted)
            assert read_table_from_db(s, name, latest=True, msa_ids=[]).num_rows == 0


def test_score_many_with_more_ids_than_sqlite_variables(session_factory):
    """score_many accepts id lists past SQLite's ~32k bound-variable limit and still reports missing ones."""
    _load(session_factory, _hand_tables(dt.date(2024, 3, 31)))
    with session_factory() as s, s.begin():
        PillarScoreService(s).refresh_many(as_of="2024-06-01", run_id=None)
    many = ["H", *(f"X{i:05d}" for i in range(40_000))]
    with session_factory() as s, pytest.raises(ScoringError, match="40000 market"):
        score_many(s, many, as_of="2024-06-01")
