"""The run database as the tasks see it: one engine per process, schema checked once."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from aker_core.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["run_engine"]


@lru_cache(maxsize=1)
def _checked(url: str) -> Engine:
    from aker_data.engine import get_engine, normalise_url
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
