"""Settings: ``AKER_*`` environment variables and ``.env``, with provenance and a config hash."""

from __future__ import annotations

from aker_core.config.settings import RESULT_FIELDS, Settings, get_settings, reset_settings
from aker_core.config.weights import PILLARS, Weights

__all__ = ["PILLARS", "RESULT_FIELDS", "Settings", "Weights", "get_settings", "reset_settings"]
