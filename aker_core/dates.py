"""As-of dates: the one rule for what ``as_of`` accepts (no pyarrow: the CLI parses with it)."""

from __future__ import annotations

import datetime as dt
import re

from aker_core.exceptions import ScoringError

__all__ = ["FREQUENCIES", "AsOf", "month_end", "parse_as_of", "period_ends"]

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


#: Backfill frequencies: each names the periods whose last calendar day is a backfill date.
FREQUENCIES = ("quarter", "month", "week")


def month_end(year: int, month: int) -> dt.date:
    """The last calendar day of ``month`` of ``year``."""
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def period_ends(start: object, end: object, freq: str) -> list[dt.date]:
    """The last calendar day of every period (quarter, month or week ending Sunday) within [start, end].

    Args:
        start: the first day of the range (anything :func:`parse_as_of` accepts).
        end: the last day of the range, inclusive.
        freq: ``quarter`` (Mar 31, Jun 30, Sep 30, Dec 31), ``month`` (month-ends) or ``week`` (Sundays).

    Returns:
        The dates, oldest first.

    Raises:
        ScoringError: an unparseable date, an unknown ``freq``, ``end`` before ``start``, or no
            such date in the range -- naming the values.
    """
    first, last = parse_as_of(start), parse_as_of(end)
    if freq not in FREQUENCIES:
        raise ScoringError(f"unknown frequency {freq!r}: use {', '.join(FREQUENCIES)}")
    if last < first:
        raise ScoringError(f"the end {last} is before the start {first}")
    found: list[dt.date] = []
    if freq == "week":
        day = first + dt.timedelta(days=(6 - first.weekday()) % 7)  # the first Sunday on or after start
        while day <= last:
            found.append(day)
            day += dt.timedelta(days=7)
    else:
        step = 3 if freq == "quarter" else 1
        year, month = first.year, first.month
        month = ((month - 1) // step + 1) * step  # the period's last month
        while True:
            day = month_end(year, month)
            if day > last:
                break
            if day >= first:
                found.append(day)
            year, month = (year + 1, month + step - 12) if month + step > 12 else (year, month + step)
    if not found:
        what = {"quarter": "quarter-end", "month": "month-end", "week": "Sunday"}[freq]
        raise ScoringError(f"no {what} between {first} and {last}: widen the range or use a shorter --freq")
    return found
