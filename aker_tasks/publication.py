"""PublishScores: the database load of a composite, as a Luigi task with a database target.

Luigi's pattern for database loads (``luigi.contrib.sqla``) is a task whose target *is* the
database state. Here :class:`PublishedScores` exists when ``pillar_scores`` for the as_of hold
exactly one publication: every row of the date written by one completed run whose ``output_hash``
is the publication id -- the hash of the composite's content and the weights. The run is marked
completed in the very transaction that writes the rows. So a lost or rewritten
database, or a later publication with other weights, makes the task incomplete again, and the
next run republishes the cached composite without recomputing anything.

Two publishers of one date serialise in the database (PostgreSQL: a transaction-scoped advisory
lock; SQLite: its write lock, taken by the first statement) and re-check under the lock, so the
second finds the work done instead of failing on the unique key.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

import luigi
import orjson

from aker_tasks.base import PUBLICATION_PRIORITY
from aker_tasks.hashing import hash_bytes
from aker_tasks.identity import AsOfParameter
from aker_tasks.score import ComposeScores, WeightedTask
from aker_tasks.targets import CacheTarget, PendingTarget

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aker_core.run import RunContext

__all__ = ["PublishScores", "PublishedScores", "publication_id"]

#: The one question a publication target asks: the date's rows, how many name a run, the
#: smallest and largest run id (equal: one run), and that run's output hash and status.
#: min/max instead of COUNT(DISTINCT): one streaming pass over the (score_as_of, msa_id) index.
STATE_SQL = (
    "SELECT s.n, s.with_run, s.first_run, s.last_run, r.output_hash, r.status FROM "
    "(SELECT count(*) AS n, count(run_id) AS with_run, min(run_id) AS first_run, max(run_id) AS last_run "
    "FROM pillar_scores WHERE score_as_of = :day) s LEFT JOIN runs r ON r.run_id = s.first_run"
)

#: PostgreSQL advisory-lock namespace of publications: the high 32 bits of the lock key (the
#: as_of's ordinal is the low 32 bits), so aker's locks do not collide with other applications'.
ADVISORY_LOCK_CLASS = 0x616B6572  # "aker"


def publication_id(composite_hash: str, weights: dict[str, float]) -> str:
    """The id of publishing a composite (by content hash) with its weights."""
    return hash_bytes(orjson.dumps({"composite": composite_hash, "weights": weights}, option=orjson.OPT_SORT_KEYS))


def _is_published(state: tuple[Any, ...] | None, publication: str, rows: int) -> bool:
    if state is None:
        return False
    count, with_run, first_run, last_run, held_hash, status = state
    if count == 0:
        return rows == 0
    return bool(
        count == rows
        and with_run == count
        and first_run == last_run
        and held_hash == publication
        and status == "completed"
    )


def _read_state(url: str, day: dt.date) -> tuple[Any, ...] | None:
    """:data:`STATE_SQL` for ``day``, or ``None`` when the database cannot answer it."""
    from aker_data.readonly import DatabaseUnreadable, read_rows

    try:
        rows = read_rows(url, STATE_SQL, {"day": day}).rows
    except DatabaseUnreadable:
        return None
    return rows[0] if rows else None


class PublishedScores(luigi.Target):
    """``pillar_scores`` of one as_of hold exactly one publication (see the module docstring)."""

    def __init__(self, url: str, as_of: dt.date, publication: str, rows: int) -> None:
        self.url = url
        self.as_of = as_of
        self.publication = publication
        self.rows = rows

    def exists(self) -> bool:
        """Whether the database holds this publication (an unreachable database: no)."""
        return _is_published(_read_state(self.url, self.as_of), self.publication, self.rows)

    def __repr__(self) -> str:
        return f"PublishedScores(as_of={self.as_of}, publication={self.publication}, rows={self.rows})"


def _serialise(session: Session, day: dt.date, run_id: str, publication: str) -> tuple[Any, ...]:
    """Take the date's publication lock in the session's transaction; return the state under it."""
    from sqlalchemy import Date, bindparam, text, update

    from aker_data.models import Run

    if session.get_bind().dialect.name == "postgresql":
        key = (ADVISORY_LOCK_CLASS << 32) | day.toordinal()
        session.execute(text("SELECT pg_advisory_xact_lock(CAST(:k AS bigint))"), {"k": key})
    # Recording the publication on the run is the transaction's first write; on SQLite it takes
    # the database's write lock, which is held (as the advisory lock is) until commit.
    session.execute(update(Run).where(Run.run_id == run_id).values(output_hash=publication))
    return tuple(session.execute(text(STATE_SQL).bindparams(bindparam("day", value=day, type_=Date))).one())


#: A publication with fewer markets than this share of the previous as_of's is worth a warning.
MARKET_DROP_WARNING = 0.8


def _warn_on_drop(run: RunContext, day: dt.date, rows: int) -> None:
    """Warn (log and run record) when far fewer markets are published than for the previous as_of."""
    from sqlalchemy import Date, bindparam, text

    previous = run.session.execute(
        text(
            "SELECT score_as_of, count(*) FROM pillar_scores WHERE score_as_of = "
            "(SELECT max(score_as_of) FROM pillar_scores WHERE score_as_of < :day) GROUP BY score_as_of"
        ).bindparams(bindparam("day", value=day, type_=Date))
    ).first()
    if previous is not None and rows < MARKET_DROP_WARNING * previous[1]:
        run.warn(f"as of {day}: {rows} markets, {previous[1] - rows} fewer than the {previous[1]} of {previous[0]}")


def _complete_with_data(session: Session, run_id: str) -> None:
    """Mark the run completed in the transaction that publishes, so committed scores never name a
    run left ``running`` (a process killed between the commit and the run's own final update)."""
    from sqlalchemy import update

    from aker_data.models import Run

    now = dt.datetime.now(dt.UTC)
    session.execute(update(Run).where(Run.run_id == run_id).values(status="completed", finished_at=now))


class PublishScores(WeightedTask):
    """Make the composite of an as_of the ``pillar_scores`` rows of that date (one transaction)."""

    as_of = AsOfParameter(description="As-of date of the scores to publish.")

    #: Before any export (see :data:`~aker_tasks.base.PUBLICATION_PRIORITY`).
    priority = PUBLICATION_PRIORITY

    code_modules: ClassVar[tuple[str, ...]] = (
        "aker_core.markets.persist",
        "aker_core.markets.bulk",
        "aker_core.config.weights",
        "aker_core.scoring.composite",
        "aker_core.scoring.arrowutil",
        "aker_data.models",
        "aker_tasks.publication",
        "aker_tasks.io",
    )

    def requires(self) -> ComposeScores:
        """The composite to publish."""
        return ComposeScores(as_of=self.as_of, weights=self.weights, config=self.config)

    def output(self) -> luigi.Target:
        """The publication of the composite's current content, or pending while it is not built."""
        scores = self.requires().output()
        if not isinstance(scores, CacheTarget) or not scores.exists():
            return PendingTarget(f"{self.task_id}: composite not built yet")
        meta = scores.sidecar()
        return PublishedScores(
            self.settings.database_url,
            self.as_of,
            publication_id(str(meta["content_hash"]), self.weights_used()),
            int(meta["rows"]),
        )

    def run(self) -> None:
        """Replace the date's ``pillar_scores`` with the composite, unless it is already there."""
        import time

        from aker_core.markets.persist import replace_pillar_scores
        from aker_tasks.base import logger
        from aker_tasks.io import read_parquet

        self.check_identity()
        target = self.output()
        if not isinstance(target, PublishedScores):
            raise RuntimeError(f"{self.task_id}: run before its composite was built")
        if target.exists():
            self.run_stats = {}
            return
        started = time.perf_counter()
        scores = self.requires().target()
        self.report(f"publishing {target.rows} markets as of {self.as_of}", percent=0)
        with self.recorded_run() as run:
            self.log_inputs(run)
            state = _serialise(run.session, self.as_of, run.id, target.publication)
            if _is_published(state, target.publication, target.rows):
                # Another publisher of the same composite committed while we waited for the lock.
                logger.info("%s: already published by run %s", self.task_id, state[2])
                written = 0
            else:
                _warn_on_drop(run, self.as_of, target.rows)
                table = read_parquet(scores)
                self.report(percent=20)
                # Replace, not merge: markets that left the source must not keep an old score.
                written = replace_pillar_scores(
                    run.session, table, as_of=self.as_of, run_id=run.id, weights=self.weights_used()
                )
            _complete_with_data(run.session, run.id)
            run.set_output_hash(target.publication)
            run.log_lineage(
                table="pillar_scores",
                source="database",
                url=f"pillar_scores?score_as_of={self.as_of.isoformat()}",
                fetched_at=None,
                hash=target.publication,
                direction="output",
                rows=written,
            )
            self.report(percent=90)
            logger.info("%s published %s markets as of %s (%s)", self.task_id, written, self.as_of, target.publication)
        self.run_stats = {"duration_seconds": time.perf_counter() - started, "rows_out": written}
        self.report(f"published {written} markets as of {self.as_of}", percent=100)
