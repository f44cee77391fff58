"""aker persistence: the run database schema and its engines.

Exports load on first use, so ``aker_data.engine`` can be imported without the ORM models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aker_core.lazy import lazy_exports

if TYPE_CHECKING:
    from aker_data.engine import create_engine_from_url, get_engine
    from aker_data.exceptions import DataError
    from aker_data.models import Base, Lineage, PillarScore, Run

_EXPORTS = {
    "create_engine_from_url": "aker_data.engine",
    "get_engine": "aker_data.engine",
    "DataError": "aker_data.exceptions",
    "Base": "aker_data.models",
    "Lineage": "aker_data.models",
    "PillarScore": "aker_data.models",
    "Run": "aker_data.models",
}
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = ["Base", "DataError", "Lineage", "PillarScore", "Run", "create_engine_from_url", "get_engine"]
