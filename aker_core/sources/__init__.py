"""Source datasets: where they live, reading and validating them, and reading them from the database.

A source directory holds ``markets`` and ``market_supply``/``market_jobs``/``market_urban``/
``market_outdoors``, each as ``<name>.parquet`` or ``<name>.csv``. Readers return the canonical
Arrow schema of :data:`SCHEMAS` or raise :class:`~aker_core.exceptions.DataValidationError`
naming dataset, file, column and offending rows.
"""

import lazy_loader

# The names listed in __init__.pyi load on first use (PEP 562, via scientific-python's
# lazy_loader): importing a light submodule, as a fully cached run does, loads no heavy sibling.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
