"""aker runtime: settings, run bookkeeping, market scoring and metrics."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from aker_core.exceptions import AkerError

try:
    __version__ = version("aker")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["AkerError", "__version__"]
