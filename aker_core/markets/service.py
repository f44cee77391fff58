"""PillarScoreService: score markets from the database's source tables and store the results.

Reads are one ``SELECT`` per source table (plus one for ``markets``) whatever the number of
markets, each returning only the latest vintage on or before the as-of date of the requested
markets; the arithmetic is :func:`aker_core.scoring.score_markets`; the write is one bulk upsert
into ``pillar_scores``. The service never commits: the caller (normally
:class:`~aker_core.run.RunContext`) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from aker_core.config.weights import WeightsLike, normalise_weights
from aker_core.exceptions import ScoringError
from aker_core.markets.persist import upsert_pillar_scores
from aker_core.markets.results import MarketScore, scores_from_table
from aker_core.scoring import parse_as_of, score_markets
from aker_core.sources import MARKETS, SOURCE_TABLES, read_table_from_db

__all__ = ["PillarScoreService"]

#: How many unknown ids an error message lists.
_MAX_LISTED = 5


class PillarScoreService:
    """Compute and persist pillar and composite scores for markets as of a date.

    Example:
        >>> with RunContext(Session) as run:  # doctest: +SKIP
        ...     PillarScoreService(run.session).refresh_many(as_of="2024-06-01", run_id=run.id)

    Args:
        session: the data session; the service flushes but never commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def compute(
        self,
        msa_ids: Iterable[str] | None = None,
        *,
        as_of: object,
        weights: WeightsLike | None = None,
    ) -> pa.Table:
        """Score markets without writing anything.

        Args:
            msa_ids: the markets to score; ``None`` = every market in ``markets`` or any source table.
            as_of: see :func:`~aker_core.scoring.parse_as_of`; only vintages on or before it are read.
            weights: see :func:`~aker_core.config.weights.normalise_weights`.

        Returns:
            The composite table (see :func:`~aker_core.scoring.compose`), sorted by ``msa_id``.

        Raises:
            ScoringError: bad ``as_of``/weights, or an ``msa_id`` the database does not know.
        """
        day = parse_as_of(as_of)
        normalise_weights(weights)  # fail on bad weights before touching the database
        requested = None if msa_ids is None else list(msa_ids)
        # Only the rows scoring can use: each market's latest vintage on or before the day (what
        # latest_as_of keeps) and only the requested markets, selected in SQL. The ids are bound
        # as one parameter, so the statement count does not grow with the number of markets.
        sources = {
            t: read_table_from_db(self.session, t, max_vintage=day, latest=True, msa_ids=requested)
            for t in SOURCE_TABLES
        }
        known = pa.chunked_array(
            [read_table_from_db(self.session, MARKETS, msa_ids=requested, columns=["msa_id"]).column("msa_id")]
            + [s.column("msa_id") for s in sources.values()],
            pa.string(),
        )
        if requested is None:
            universe = known.combine_chunks()
        else:
            universe = pa.array(requested, pa.string())
            unknown = pc.unique(universe.filter(pc.invert(pc.is_in(universe, value_set=known.combine_chunks()))))
            if len(unknown):
                listed = ", ".join(repr(x) for x in sorted(unknown.to_pylist())[:_MAX_LISTED])
                raise ScoringError(
                    f"{len(unknown)} unknown msa_id(s) (not in markets nor in any source table "
                    f"on or before {day}): {listed}"
                )
        return score_markets(sources, day, weights, universe=universe)

    def refresh_many(
        self,
        msa_ids: Iterable[str] | None = None,
        *,
        as_of: object,
        run_id: str | None = None,
        weights: WeightsLike | None = None,
    ) -> list[MarketScore]:
        """Score markets and upsert them into ``pillar_scores`` keyed by (msa_id, as_of).

        Markets missing a pillar are stored with null composites and ``missing_pillars``; the
        others are unaffected. Rerunning an as-of date updates its rows in place.

        Args:
            msa_ids: markets to refresh; ``None`` = all known markets.
            as_of: the as-of date (date, datetime, ``'YYYY-MM-DD'`` or ``'YYYY-MM'``).
            run_id: the run to record on each row (``RunContext.id``).
            weights: composite weights override; ``None`` = settings.

        Returns:
            One :class:`~aker_core.markets.results.MarketScore` per market, ordered by ``msa_id``.

        Raises:
            ScoringError: see :meth:`compute`.
        """
        day = parse_as_of(as_of)
        used = normalise_weights(weights)
        table = self.compute(msa_ids, as_of=day, weights=used)
        upsert_pillar_scores(self.session, table, as_of=day, run_id=run_id, weights=used)
        self.session.flush()
        return scores_from_table(table, as_of=day, weights=used, run_ids=[run_id] * table.num_rows)

    def refresh_one(
        self,
        msa_id: str,
        *,
        as_of: object,
        run_id: str | None = None,
        weights: WeightsLike | None = None,
    ) -> MarketScore:
        """Refresh a single market; see :meth:`refresh_many`."""
        return self.refresh_many([msa_id], as_of=as_of, run_id=run_id, weights=weights)[0]
