"""Exports a person uses: the export table, its formats, stable paths and data dictionary.

* :mod:`~aker_tasks.exports.table` -- :func:`export_table`, the one table every format writes;
* :mod:`~aker_tasks.exports.previous` -- the previous publication ``rank_change`` compares with;
* :mod:`~aker_tasks.exports.formats` -- CSV (rounded), parquet and JSON lines writers;
* :mod:`~aker_tasks.exports.stable` -- ``AKER_EXPORT_DIR/<as_of>/scores.<ext>``, replaced atomically;
* :mod:`~aker_tasks.exports.dictionary` -- the data dictionary (``aker export --describe``);
* :mod:`~aker_tasks.exports.command` -- the ``aker export`` command.

The task itself is :class:`aker_tasks.export.ExportScores`. Names load on first use, so
importing the package (as ``import aker_tasks`` does) costs neither pyarrow nor numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aker_core.lazy import lazy_exports

if TYPE_CHECKING:
    from aker_tasks.exports.dictionary import data_dictionary
    from aker_tasks.exports.table import EXPORT_SCHEMA, export_table

__getattr__ = lazy_exports(
    __name__,
    {
        "EXPORT_SCHEMA": "aker_tasks.exports.table",
        "export_table": "aker_tasks.exports.table",
        "data_dictionary": "aker_tasks.exports.dictionary",
    },
    globals(),
)

__all__ = ["EXPORT_SCHEMA", "data_dictionary", "export_table"]
