"""Masking of secrets (DSN passwords, API keys, URL credentials): the one place aker hides them.

* :func:`mask_dsn` / :func:`mask_url` render a database or other URL without its password, for
  ``--show-effective``, the ``runs.config_json`` snapshot and every error message naming a database;
* :func:`redact` / :class:`Redactor` mask known secret values (:func:`secret_values`) and any
  inline credentials in free text: log lines (:mod:`aker_core.logging`), driver and metrics errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from aker_core.config import Settings

__all__ = [
    "MASK",
    "SECRET_MASK",
    "SECRET_QUERY_KEYS",
    "Redactor",
    "mask_dsn",
    "mask_url",
    "redact",
    "secret_values",
    "strip_url_credentials",
]

#: What a secret inside a longer text (a URL's password, a value in a message) becomes.
MASK = "***"

#: What a whole secret value (an API key) or an unparseable URL is shown as.
SECRET_MASK = "**********"

#: DSN query parameters that carry secrets (libpq names).
SECRET_QUERY_KEYS = frozenset({"password", "passfile", "sslpassword", "sslkey"})

#: Shorter known values are not masked: replacing a 1-3 character "password" everywhere would
#: mangle ordinary text while protecting nothing.
MIN_SECRET_CHARS = 4

# ``scheme://user:password@host`` -- any URL with inline credentials, known or not.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^@\s]+)(?P<tail>@)")
# libpq conninfo / keyword style: ``password=secret`` or ``password: 'secret'``.
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|api_key|apikey|secret|token)\s*[=:]\s*)(?P<secret>'[^']*'|\"[^\"]*\"|[^\s,;&)]+)",
    re.IGNORECASE,
)


def secret_values(settings: Settings) -> list[str]:
    """The literal secret strings a :class:`Settings` holds: DSN and Pushgateway URL (and their passwords), API keys.

    Args:
        settings: the configuration whose secrets must never be printed.

    Returns:
        Distinct non-trivial secret values, longest first so that a DSN is masked before its
        password is (which would leave a half-masked DSN otherwise).
    """
    from sqlalchemy.engine import make_url

    values: set[str] = set()
    dsn = settings.database_url
    try:
        parsed = make_url(dsn)
        passwords = [parsed.password, *(v for k, v in parsed.query.items() if k.lower() == "password")]
    except Exception:  # unparseable DSN: mask it whole
        passwords = [dsn]
    for password in passwords:
        if password:
            values.add(str(password))
            values.add(dsn)
    for key in (settings.bls_api_key, settings.census_api_key):
        if key is not None and key.get_secret_value():
            values.add(key.get_secret_value())
    pushgateway = settings.pushgateway
    if pushgateway:
        pg_password = urlsplit(pushgateway).password
        if pg_password:
            values.add(pg_password)
            values.add(pushgateway)
    return sorted((v for v in values if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secret values and any inline URL or ``password=`` credentials by ``***``.

    Args:
        text: a message, exception text or URL.
        secrets: literal values to mask wherever they occur (see :func:`secret_values`).
    """
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)


class Redactor:
    """A :func:`redact` bound to a fixed list of secrets (cheap to call per log record).

    Args:
        secrets: literal values to mask.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: tuple[str, ...] = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret masked."""
        return redact(text, self.secrets)


def strip_url_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Split ``scheme://user:pass@host/path`` into the URL without credentials, user and password.

    Returns:
        ``(url_without_userinfo, username, password)``; user and password are ``None`` if absent.
    """
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal lost its brackets in .hostname
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit(parts._replace(netloc=netloc)), parts.username, parts.password


def mask_dsn(url: str | URL) -> str:
    """Render a database URL with scheme, user, host, port, database and query but never a password.

    Args:
        url: a SQLAlchemy URL (string or parsed), possibly with a password or ``?password=``.

    Returns:
        The URL with any password (also a secret query parameter) shown as ``***``; an
        unparseable value is fully masked.
    """
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        # libpq also takes secrets as query parameters (?password=...): mask those too.
        hidden = {k: MASK for k in parsed.query if k.lower() in SECRET_QUERY_KEYS}
        rendered = parsed.update_query_dict(hidden).render_as_string(hide_password=True)
        return rendered.replace("%2A%2A%2A", MASK)
    except Exception:  # any parse failure: show nothing of it rather than risk the secret
        return SECRET_MASK


def mask_url(url: str) -> str:
    """Render a URL such as the Pushgateway's with ``user:password@`` shown as ``user:***@``.

    Returns:
        The URL without its password (unchanged when it has none); an unparseable value is fully
        masked.
    """
    try:
        bare, user, password = strip_url_credentials(url)
    except ValueError:  # a bad port or bracket: show nothing of it rather than risk the secret
        return SECRET_MASK
    if password is None:
        return url
    parts = urlsplit(bare)
    return urlunsplit(parts._replace(netloc=f"{user or ''}:{MASK}@{parts.netloc}"))
