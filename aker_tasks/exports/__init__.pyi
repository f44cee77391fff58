"""Names of :mod:`aker_tasks.exports`, loaded on first use (see its ``__init__.py``)."""

from .dictionary import data_dictionary as data_dictionary
from .table import EXPORT_SCHEMA as EXPORT_SCHEMA
from .table import export_table as export_table
