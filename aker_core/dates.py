"""As-of dates: the one rule for what ``as_of`` accepts (no pyarrow: the CLI parses with it)."""

from __future__ import annotations

import datetime as dt
import re

from aker_core.exceptions import ScoringError

__all__ = ["AsOf", "parse_as_of"]

#: Everything :func:`parse_as_of` accepts.
AsOf = dt.date | dt.datetime | str

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def parse_as_of(value: object) -> dt.date:
    """Parse an as-of date.

    Args:
        value: a ``date``, a ``datetime`` (its calendar date is used), ``'YYYY-MM-DD'`` or
            ``'YYYY-MM'`` (the first of that month).

    Returns:
        The date.

    Raises:
        ScoringError: anything else, naming the value.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DAY.match(text):
                return dt.date.fromisoformat(text)
            if _MONTH.match(text):
                return dt.date.fromisoformat(f"{text}-01")
        except ValueError as e:
            raise ScoringError(f"as_of {value!r} is not a valid date: {e}") from e
    raise ScoringError(f"as_of {value!r} is not a date: use a date, a datetime, 'YYYY-MM-DD' or 'YYYY-MM'")
