"""Time helpers: operations take `now` as a parameter; "today" is the date in Europe/Berlin."""

from __future__ import annotations

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
