"""The publications an export shows, read from the database: its own and the previous one.

An export names the run that published its scores (:func:`last_publisher`, also when the date
has since been republished with other weights). Its ``rank_change`` is measured against the
*previous* publication:

the latest as_of *before* the export's that the database publishes with the *same*
weights: a date published with other weights is skipped (its ranks answer another question), and
so is any later date. A date holds one publication (see :mod:`aker_tasks.publication`), so the
weights of its first row (by ``msa_id``) are the date's; only rows carrying exactly these weights
-- the JSON text :func:`aker_core.markets.persist.replace_pillar_scores` stores -- are ranked.

Both questions are one SQL statement each, set-based and portable (SQLite and PostgreSQL): the
earlier dates are walked with a recursive CTE that seeks the ``(score_as_of, msa_id)`` index once
per date instead of scanning every earlier row, and ranks come from ``RANK()``, the competition
ranking :func:`aker_tasks.exports.table.competition_rank` uses for the current as_of.

Reads go through :func:`aker_data.readonly.read_rows`, so on the embedded SQLite default a fully
cached rerun does not import SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PREVIOUS_CTE", "last_publisher", "previous_publication", "previous_ranks", "stored_weights"]

#: The latest date before ``:day`` whose publication carries the weights ``:weights`` (JSON text).
PREVIOUS_CTE = """
WITH RECURSIVE earlier(day) AS (
    SELECT max(score_as_of) FROM pillar_scores WHERE score_as_of < :day
    UNION ALL
    SELECT (SELECT max(p.score_as_of) FROM pillar_scores p WHERE p.score_as_of < e.day)
    FROM earlier e WHERE e.day IS NOT NULL
),
previous(day) AS (
    SELECT max(e.day) FROM earlier e
    WHERE e.day IS NOT NULL AND (
        SELECT CAST(p.weights AS TEXT) FROM pillar_scores p
        WHERE p.score_as_of = e.day ORDER BY p.msa_id LIMIT 1
    ) = :weights
)
"""

#: What identifies the previous publication: its date, rows, and the run(s) and publication id
#: that wrote them. A republication is a new run, so any change of its rows changes this.
IDENTITY_SQL = (
    PREVIOUS_CTE
    + """
SELECT s.day, s.n, s.first_run, s.last_run, r.output_hash FROM (
    SELECT v.day AS day, count(p.msa_id) AS n, min(p.run_id) AS first_run, max(p.run_id) AS last_run
    FROM previous v LEFT JOIN pillar_scores p
        ON p.score_as_of = v.day AND CAST(p.weights AS TEXT) = :weights
    WHERE v.day IS NOT NULL
    GROUP BY v.day
) s LEFT JOIN runs r ON r.run_id = s.first_run
"""
)

#: Each market of the previous publication with a composite, and its competition rank.
RANKS_SQL = (
    PREVIOUS_CTE
    + """
SELECT p.score_as_of, p.msa_id, RANK() OVER (ORDER BY p.weighted_0_5 DESC) AS rank
FROM pillar_scores p JOIN previous v ON p.score_as_of = v.day
WHERE p.weighted_0_5 IS NOT NULL AND CAST(p.weights AS TEXT) = :weights
"""
)


def stored_weights(weights: Mapping[str, float]) -> str:
    """The ``pillar_scores.weights`` text a publication with ``weights`` stores.

    The one weights rule (:func:`aker_core.config.weights.normalise_weights`) serialised as
    :mod:`aker_core.markets.persist` serialises it (``json.dumps``).
    """
    from aker_core.config.weights import normalise_weights

    return json.dumps(normalise_weights(weights))


def _query(url: str, sql: str, params: dict[str, dt.date | str]) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` with ``params`` bound (:func:`aker_data.readonly.read_rows`).

    Raises:
        aker_data.readonly.DatabaseUnreadable: the database cannot answer.
    """
    from aker_data.readonly import read_rows

    return read_rows(url, sql, params).rows


#: The latest completed PublishScores run that wrote a date's rows (its lineage output, more than
#: none) as the publication id (its ``output_hash``). A run that found the publication already in
#: place wrote no rows; the date matters because equal composites of two dates share an id.
PUBLISHER_SQL = (
    "SELECT r.run_id FROM runs r WHERE r.output_hash = :publication AND r.status = 'completed' "
    "AND r.task_family = 'PublishScores' AND EXISTS (SELECT 1 FROM lineage l WHERE l.run_id = r.run_id "
    "AND l.direction = 'output' AND l.rows > 0 AND l.source_url = :url) "
    "ORDER BY r.finished_at DESC, r.run_id DESC LIMIT 1"
)


def last_publisher(url: str, as_of: dt.date, publication: str) -> str | None:
    """The run that last wrote ``as_of``'s rows as ``publication`` (a publication id), or ``None``.

    While the database publishes it, that is the run named by the date's rows; after another
    publication replaced it (other weights), still the run that published these scores.

    Raises:
        aker_data.readonly.DatabaseUnreadable: the database cannot answer.
    """
    where = f"pillar_scores?score_as_of={as_of.isoformat()}"  # as PublishScores records its output
    rows = _query(url, PUBLISHER_SQL, {"publication": publication, "url": where})
    return str(rows[0][0]) if rows else None


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def previous_publication(url: str, as_of: dt.date, weights: Mapping[str, float]) -> dict[str, Any] | None:
    """Which publication is the previous one of ``as_of`` with ``weights``, or ``None`` if none.

    Returns:
        ``as_of`` (ISO date), ``rows``, ``first_run``, ``last_run`` (equal for one publication)
        and ``publication`` (the publishing run's output hash) -- JSON-safe, for cache keys.

    Raises:
        aker_data.readonly.DatabaseUnreadable: the database cannot answer.
    """
    rows = _query(url, IDENTITY_SQL, {"day": as_of, "weights": stored_weights(weights)})
    if not rows:
        return None
    day, n, first_run, last_run, publication = rows[0]
    return {
        "as_of": _date(day).isoformat(),
        "rows": int(n),
        "first_run": first_run,
        "last_run": last_run,
        "publication": publication,
    }


def previous_ranks(url: str, as_of: dt.date, weights: Mapping[str, float]) -> tuple[dt.date | None, pa.Table | None]:
    """The previous publication's date and ranks (``msa_id``, ``rank``); ``(None, None)`` if none.

    Raises:
        aker_data.readonly.DatabaseUnreadable: the database cannot answer.
    """
    import pyarrow as pa

    rows = _query(url, RANKS_SQL, {"day": as_of, "weights": stored_weights(weights)})
    if not rows:
        return None, None
    day = _date(rows[0][0])
    table = pa.table(
        {
            "msa_id": pa.array([r[1] for r in rows], pa.string()),
            "rank": pa.array([r[2] for r in rows], pa.int32()),
        }
    )
    return day, table
