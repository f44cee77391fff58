"""Readable validation errors: one formatter for every value aker validates with pydantic.

Settings (``AKER_*``) and explicit weights (``--weights``, the Python API) both report a
problem as ``<where>: <why> (got <value>)``; only the name of the place differs. The value of a
secret setting is never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from pydantic import ValidationError

__all__ = ["describe_problems", "describe_validation_error"]

#: Longest value quoted in a message (a long JSON object is cut).
MAX_VALUE_CHARS = 80

Location = tuple[int | str, ...]


def _shown(value: Any) -> str:
    from aker_core.redact import redact

    text = redact(repr(value))  # inline credentials in a mistyped value stay hidden too
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def describe_problems(
    error: ValidationError, where: Callable[[Location], str], *, secret: Collection[str] = ()
) -> list[str]:
    """One ``<where>: <why> (got <value>)`` per problem of ``error``.

    Args:
        error: what pydantic raised.
        where: names the place of a problem from its location (e.g. ``("weights", "jobs")``).
        secret: top-level fields whose value must never be shown; the value of a whole-model
            problem (an empty location) is not shown either.
    """
    lines = []
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        place = where(loc)
        # A validator's own ValueError reads better without pydantic's "Value error, " prefix.
        why = str(err["ctx"]["error"]) if err["type"] == "value_error" and "ctx" in err else err["msg"]
        line = f"{place}: {why}" if place else why
        if loc and loc[0] not in secret and "input" in err:
            line += f" (got {_shown(err['input'])})"
        lines.append(line)
    return lines


def _variable(loc: Location) -> str:
    return "AKER_" + "__".join(str(part) for part in loc).upper() if loc else "AKER_*"


def describe_validation_error(error: Exception) -> str:
    """The problems of invalid settings, one per line, each naming its ``AKER_`` variable.

    Takes what :class:`~aker_core.config.Settings` raises: a pydantic ``ValidationError``, or
    pydantic-settings' ``SettingsError`` for a value that is not even parseable (e.g.
    ``AKER_WEIGHTS`` that is not JSON).
    """
    from aker_core.config.settings import SECRET_FIELDS

    if not isinstance(error, ValidationError):
        import re

        found = re.search(r'field "([^"]+)" from source "(\w+)"', str(error))
        var = f"AKER_{found.group(1).upper()}" if found else "an AKER_* setting"
        origin = " (in the env file)" if found and "Dotenv" in found.group(2) else ""
        cause = f": {error.__cause__}" if error.__cause__ else ""
        return f"invalid configuration: {var}{origin} cannot be parsed{cause}"
    problems = describe_problems(error, _variable, secret=SECRET_FIELDS)
    return "\n".join([f"invalid configuration ({error.error_count()} problem(s)):", *(f"  {p}" for p in problems)])
