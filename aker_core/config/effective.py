"""Where each setting came from, masking of secrets, and readable validation errors.

This is what ``python -m aker_core.config --show-effective`` prints, kept apart from the model so
that reading settings stays cheap.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr, ValidationError

from aker_core.config.settings import Settings

__all__ = ["describe_validation_error", "effective_settings", "field_sources", "mask_dsn", "mask_url"]

SECRET_MASK = "**********"
#: DSN query parameters that carry secrets (libpq names).
SECRET_QUERY_KEYS = frozenset({"password", "passfile", "sslpassword", "sslkey"})


def mask_dsn(url: str) -> str:
    """Render a database URL with scheme, user, host, port and database but never the password.

    Args:
        url: a SQLAlchemy URL, possibly with a password.

    Returns:
        The URL with any password replaced by ``***``; an unparseable value is fully masked.
    """
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        # libpq also takes secrets as query parameters (?password=...): mask those too.
        hidden = {k: "***" for k in parsed.query if k.lower() in SECRET_QUERY_KEYS}
        rendered = parsed.update_query_dict(hidden).render_as_string(hide_password=True)
        return rendered.replace("%2A%2A%2A", "***")
    except Exception:  # any parse failure: show nothing of it rather than risk the secret
        return SECRET_MASK


def mask_url(url: str) -> str:
    """Render a URL such as the Pushgateway's with ``user:password@`` shown as ``user:***@``.

    Args:
        url: any URL, possibly with inline credentials.

    Returns:
        The URL without its password (unchanged when it has none); an unparseable value is fully
        masked.
    """
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literal lost its brackets in .hostname
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
    except ValueError:  # a bad port or bracket: show nothing of it rather than risk the secret
        return SECRET_MASK


def _dotenv_keys(settings: Settings) -> set[str]:
    from dotenv import dotenv_values

    path = settings.env_file
    if path is None or not path.is_file():
        return set()
    return {k.lower() for k, v in dotenv_values(path).items() if v is not None}


def _named(keys: set[str], prefix: str, field: str) -> bool:
    name = f"{prefix}{field}".lower()
    return any(k == name or k.startswith(name + "__") for k in keys)


def field_sources(settings: Settings) -> dict[str, str]:
    """Map every field name to where its value came from.

    Returns:
        ``{field: source}`` with source one of ``init``, ``env``, ``dotenv`` or ``default``,
        following the precedence pydantic-settings applies.
    """
    prefix = str(settings.model_config.get("env_prefix", ""))
    env_keys = {k.lower() for k in os.environ}
    dotenv_keys = _dotenv_keys(settings)
    sources: dict[str, str] = {}
    for field in Settings.model_fields:
        if field in settings._init_keys:
            sources[field] = "init"
        elif _named(env_keys, prefix, field):
            sources[field] = "env"
        elif _named(dotenv_keys, prefix, field):
            sources[field] = "dotenv"
        else:
            sources[field] = "default"
    return sources


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
    from aker_core.config.settings import RESULT_FIELDS

    sources = field_sources(settings)
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


def describe_validation_error(error: Exception) -> str:
    """One line per problem, naming the setting (as its ``AKER_`` variable) and why it is wrong.

    Takes what :class:`Settings` raises: a pydantic ``ValidationError``, or pydantic-settings'
    ``SettingsError`` for a value that is not even parseable (e.g. ``AKER_WEIGHTS`` that is not
    JSON). Input values are deliberately left out: they may be secrets.
    """
    if not isinstance(error, ValidationError):
        import re

        found = re.search(r'field "([^"]+)" from source "(\w+)"', str(error))
        var = f"AKER_{found.group(1).upper()}" if found else "an AKER_* setting"
        origin = " (in the env file)" if found and "Dotenv" in found.group(2) else ""
        cause = f": {error.__cause__}" if error.__cause__ else ""
        return f"invalid configuration: {var}{origin} cannot be parsed{cause}"
    lines = [f"invalid configuration ({error.error_count()} problem(s)):"]
    for err in error.errors(include_input=False, include_url=False):
        loc = [str(part) for part in err["loc"]]
        var = "AKER_" + "__".join(loc).upper() if loc else "AKER_*"
        lines.append(f"  {var}: {err['msg']}")
    return "\n".join(lines)
