"""Settings: ``AKER_*`` environment variables and ``.env``, with provenance and a config hash."""

from __future__ import annotations

from aker_core.config.settings import PILLARS, RESULT_FIELDS, Settings, Weights, get_settings, reset_settings

__all__ = ["PILLARS", "RESULT_FIELDS", "Settings", "Weights", "get_settings", "reset_settings"]
