"""Field types both APIs share."""

from __future__ import annotations

from datetime import date
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
