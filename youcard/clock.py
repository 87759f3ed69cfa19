"""Time helpers: operations take `now` as a parameter; "today" is the date in Europe/Berlin."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (only callers at the edge use this)."""
    return datetime.now(UTC)


def berlin_date(now: datetime) -> date:
    """The calendar date in Europe/Berlin at the instant `now` (which must be aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(BERLIN).date()


def berlin_midnight(day: date) -> datetime:
    """The instant `day` begins in Europe/Berlin, in UTC."""
    return datetime.combine(day, datetime.min.time(), tzinfo=BERLIN).astimezone(UTC)


# Every date the service accepts from outside lies in these years: a benefit, a booking or a
# birth date before 1900 or after 2199 is a typo or an attack (and date(9999, 12, 31) + one
# month overflows). One place for the rule: forms, query strings and the JSON schemas use it.
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
_MONTH_TEXT = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


class DateOutOfRange(ValueError):
    """A date outside EARLIEST..LATEST, or text that is no date."""


def checked_date(day: date) -> date:
    """`day` if it lies in EARLIEST..LATEST, else DateOutOfRange."""
    if not EARLIEST <= day <= LATEST:
        raise DateOutOfRange(f"dates must lie between {EARLIEST} and {LATEST}")
    return day


def parse_day(text: str) -> date:
    """A `YYYY-MM-DD` date in range, else DateOutOfRange."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise DateOutOfRange("not a date (YYYY-MM-DD)") from exc
    return checked_date(day)


def parse_month(text: str) -> date:
    """The first day of a `YYYY-MM` month in range, else DateOutOfRange."""
    match = _MONTH_TEXT.fullmatch(text.strip())
    if match is None:
        raise DateOutOfRange("not a month (YYYY-MM)")
    return checked_date(date(int(match.group(1)), int(match.group(2)), 1))
