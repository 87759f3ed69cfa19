"""Which bookings a month's settlement holds, as SQL conditions: a finalized run holds
the bookings it settled; a draft (and the next run) every booking of the issuer not yet
settled that was made before the month ended (Europe/Berlin). A late cancellation of a
settled booking is such a booking too: it corrects the month it falls in."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, and_

from youcard.clock import berlin_midnight
from youcard.domain import budget
from youcard.domain.enums import SettlementStatus
from youcard.domain.models import Booking, Settlement


def month_end(month: date) -> datetime:
    """The first instant after `month` (Europe/Berlin), in UTC."""
    return berlin_midnight(budget.add_months(month, 1))


def unsettled(issuer_id: str, month: date) -> ColumnElement[bool]:
    """The bookings of the issuer a run for `month` would settle."""
    return and_(
        Booking.issuer_id == issuer_id,
        Booking.settlement_id.is_(None),
        Booking.created_at < month_end(month),
    )


def run_selection(run: Settlement) -> ColumnElement[bool]:
    """The bookings a run holds (finalized) or would hold (draft)."""
    if run.status is SettlementStatus.FINALIZED:
        return Booking.settlement_id == run.id
    return unsettled(run.issuer_id, run.month)
