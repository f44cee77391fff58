"""aker persistence: the run database schema and its engines."""

from __future__ import annotations

from aker_data.engine import create_engine_from_url, get_engine
from aker_data.exceptions import DataError
from aker_data.models import Base, Lineage, PillarScore, Run

__all__ = ["Base", "DataError", "Lineage", "PillarScore", "Run", "create_engine_from_url", "get_engine"]
