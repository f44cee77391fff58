"""Lazy package exports (PEP 562), so light submodules load without heavy siblings.

A fully cached pipeline run only hashes files and reads sidecars; importing
``aker_core.sources.location`` or ``aker_core.scoring.rules`` must not drag in pyarrow and
numpy through the package ``__init__``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """Build a module ``__getattr__`` that imports ``exports[name]`` (a submodule) on first use.

    Args:
        package: the package's ``__name__`` (for error messages).
        exports: public name -> submodule that defines it (``""`` for the submodule itself).
        namespace: the package's ``globals()``, where loaded names are cached.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = importlib.import_module(module)
        value = loaded if module.endswith("." + name) and not hasattr(loaded, name) else getattr(loaded, name)
        namespace[name] = value
        return value

    return __getattr__
