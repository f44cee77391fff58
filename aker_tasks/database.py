"""The run database as the tasks see it: one engine per process, schema checked once."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from sqlalchemy import Date, Engine, bindparam, text
from sqlalchemy.exc import SQLAlchemyError

from aker_core.config import get_settings
from aker_data.engine import get_engine, normalise_url

__all__ = ["run_engine", "scores_persisted"]


@lru_cache(maxsize=1)
def _checked(url: str) -> Engine:
    from aker_data.migrate import ensure_schema  # alembic: only paid when a task runs

    engine = get_engine(url)
    # The embedded SQLite default belongs to this cache, so aker may create/upgrade it; a
    # shared server's schema only changes through an explicit `alembic upgrade head`.
    ensure_schema(engine, auto_upgrade=normalise_url(url).get_backend_name() == "sqlite")
    return engine


def run_engine() -> Engine:
    """This process's engine on the configured run database, at the current schema.

    Raises:
        SchemaOutOfDateError: a non-SQLite database is not at the Alembic head.
    """
    return _checked(get_settings().database_url)


def scores_persisted(as_of: dt.date, output_hash: str) -> bool:
    """Whether ``pillar_scores`` for ``as_of`` hold the composite whose content hash is given.

    Persisting replaces every row of an as_of in one transaction under one run, so one row's
    run tells which composite the database holds. An unreachable or empty database answers
    False (the task then reruns and reports the real error).
    """
    engine = get_engine(get_settings().database_url)
    # Plain SQL: this runs on every cached invocation, which should not load the ORM.
    query = text(
        "SELECT r.output_hash FROM pillar_scores AS p JOIN runs AS r ON r.run_id = p.run_id "
        "WHERE p.score_as_of = :as_of AND r.status = 'completed' LIMIT 1"
    ).bindparams(bindparam("as_of", value=as_of, type_=Date))
    try:
        with engine.connect() as conn:
            held = conn.execute(query).scalar_one_or_none()
    except SQLAlchemyError:
        return False
    return held == output_hash
