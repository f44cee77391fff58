"""The previous publication rank_change compares with, read by SQL (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from sqlalchemy import Engine

from aker_core.markets.persist import replace_pillar_scores
from aker_tasks.exports.previous import previous_publication, previous_ranks

A = {"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2}
B = {"supply": 0.4, "jobs": 0.3, "urban": 0.2, "outdoor": 0.1}


def _publish(engine: Engine, day: dt.date, scores: dict[str, float | None], weights: dict[str, float]) -> None:
    """Publish ``scores`` (msa_id -> composite) for ``day`` with ``weights``, as PublishScores writes them."""
    ids = sorted(scores)
    weighted = [scores[m] for m in ids]
    table = pa.table(
        {
            "msa_id": ids,
            **{f"{p}_0_5": weighted for p in ("supply", "jobs", "urban", "outdoor")},
            "weighted_0_5": pa.array(weighted, pa.float64()),
            "weighted_0_100": pa.array([None if w is None else 20 * w for w in weighted], pa.float64()),
            "missing_pillars": [None if w is not None else "jobs" for w in weighted],
        }
    )
    with engine.begin() as conn:
        replace_pillar_scores(conn, table, as_of=day, run_id=None, weights=weights)


def _ranks(url: str, day: dt.date, weights: dict[str, float]) -> tuple[dt.date | None, dict[str, int]]:
    found, table = previous_ranks(url, day, weights)
    return found, (
        {} if table is None else dict(zip(table["msa_id"].to_pylist(), table["rank"].to_pylist(), strict=True))
    )


def test_no_earlier_publication(engine: Engine, db_url: str) -> None:
    """Without an earlier as_of there is no previous publication (only a later one exists)."""
    _publish(engine, dt.date(2024, 6, 1), {"1": 1.0}, A)
    assert previous_ranks(db_url, dt.date(2024, 6, 1), A) == (None, None)
    assert previous_publication(db_url, dt.date(2024, 1, 1), A) is None


def test_ranks_of_the_previous_date_share_ties(engine: Engine, db_url: str) -> None:
    """Ranks are competition ranks (ties share, next skips); markets without a composite are unranked."""
    _publish(engine, dt.date(2024, 3, 31), {"a": 3.0, "b": 2.0, "c": 2.0, "d": None, "e": 1.0}, A)
    assert _ranks(db_url, dt.date(2024, 6, 1), A) == (dt.date(2024, 3, 31), {"a": 1, "b": 2, "c": 2, "e": 4})


def test_latest_earlier_date_with_the_same_weights(engine: Engine, db_url: str) -> None:
    """Dates published with other weights and dates after the as_of are skipped."""
    _publish(engine, dt.date(2023, 12, 31), {"a": 1.0, "b": 2.0}, A)
    _publish(engine, dt.date(2024, 3, 31), {"a": 2.0, "b": 1.0}, B)
    _publish(engine, dt.date(2024, 9, 30), {"a": 5.0, "b": 1.0}, A)
    assert _ranks(db_url, dt.date(2024, 6, 1), A) == (dt.date(2023, 12, 31), {"b": 1, "a": 2})
    assert _ranks(db_url, dt.date(2024, 6, 1), B) == (dt.date(2024, 3, 31), {"a": 1, "b": 2})
    # Equal ratios are the same weights (stored normalised).
    assert _ranks(db_url, dt.date(2024, 6, 1), {"supply": 6, "jobs": 6, "urban": 4, "outdoor": 4})[0] == dt.date(
        2023, 12, 31
    )
    held = previous_publication(db_url, dt.date(2024, 6, 1), A)
    assert held is not None and held["as_of"] == "2023-12-31" and held["rows"] == 2


def test_previous_publication_changes_when_it_is_republished(engine: Engine, db_url: str) -> None:
    """Republishing the previous date changes what identifies it (the export key follows)."""
    from sqlalchemy import text

    _publish(engine, dt.date(2024, 3, 31), {"a": 1.0, "b": 2.0}, A)
    before = previous_publication(db_url, dt.date(2024, 6, 1), A)
    _publish(engine, dt.date(2024, 3, 31), {"a": 1.0, "b": 2.0, "c": 0.5}, A)
    after = previous_publication(db_url, dt.date(2024, 6, 1), A)
    assert before != after and after is not None and after["rows"] == 3
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM pillar_scores"))
    assert previous_publication(db_url, dt.date(2024, 6, 1), A) is None
