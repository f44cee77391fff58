"""Names of :mod:`aker_data`, loaded on first use (see its ``__init__.py``)."""

from .engine import create_engine_from_url as create_engine_from_url
from .engine import get_engine as get_engine
from .exceptions import DataError as DataError
from .models import Base as Base
from .models import Lineage as Lineage
from .models import PillarScore as PillarScore
from .models import Run as Run
