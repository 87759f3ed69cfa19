"""Field types both APIs share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from marshmallow import ValidationError, fields

from youcard.clock import EARLIEST, LATEST, DateOutOfRange, checked_date


class Day(fields.Date):
    """An ISO date within the years the service accepts (youcard.clock.EARLIEST..LATEST)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day: date = super()._deserialize(value, attr, data, **kwargs)
        try:
            return checked_date(day)
        except DateOutOfRange:
            raise ValidationError(f"The date must lie between {EARLIEST} and {LATEST}.") from None


class Moment(fields.AwareDateTime):
    """An ISO date and time with its offset (`2026-12-08T09:30:00+01:00`), within the years
    the service accepts; returned in UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        try:
            checked_date(moment.date())
        except DateOutOfRange:
            raise ValidationError(f"The date must lie between {EARLIEST} and {LATEST}.") from None
        return moment.astimezone(UTC)
