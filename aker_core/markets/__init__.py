"""Market scores in the run database: compute-and-store service, bulk persistence, re-composition."""

import lazy_loader

# The names listed in __init__.pyi load on first use (PEP 562, via scientific-python's
# lazy_loader): importing a light submodule, as a fully cached run does, loads no heavy sibling.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
