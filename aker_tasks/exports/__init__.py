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

import lazy_loader

# The names listed in __init__.pyi load on first use (PEP 562, via scientific-python's
# lazy_loader): importing a light submodule, as a fully cached run does, loads no heavy sibling.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
