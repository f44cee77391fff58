"""What ``python -m aker_core.config --show-effective`` prints: every setting, shown safely.

Kept apart from the model so that reading settings stays cheap. Where each value came from is
recorded by :class:`~aker_core.config.Settings` itself (:attr:`~aker_core.config.Settings.sources`);
secrets are masked by :mod:`aker_core.redact`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from aker_core.config.settings import RESULT_FIELDS, Settings
from aker_core.redact import SECRET_MASK, mask_dsn, mask_url

__all__ = ["effective_settings"]


def _display(field: str, value: Any) -> Any:
    if field == "postgis_dsn" and isinstance(value, SecretStr):
        return mask_dsn(value.get_secret_value())
    if field == "pushgateway_url" and isinstance(value, SecretStr):
        return mask_url(value.get_secret_value())
    if isinstance(value, SecretStr):
        return SECRET_MASK
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    return value


def effective_settings(settings: Settings) -> list[dict[str, Any]]:
    """Every field with its display value (secrets masked), source and whether it affects results."""
    sources = settings.sources
    return [
        {
            "field": field,
            "env": f"AKER_{field.upper()}",
            "value": _display(field, getattr(settings, field)),
            "source": sources[field],
            "affects_results": field in RESULT_FIELDS,
        }
        for field in Settings.model_fields
    ]
