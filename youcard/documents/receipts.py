"""What a partner's counter reads of its own bookings: a receipt, and a month's bookings and
cancellations as CSV. Another partner's booking is "not found", never "forbidden"."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from youcard.clock import berlin_midnight
from youcard.db import Session
from youcard.documents.spreadsheets import csv_text, euros
from youcard.domain import budget
from youcard.domain.budget import Available
from youcard.domain.entitlement_rules import availability
from youcard.domain.enums import BookingKind, SettlementStatus
from youcard.domain.models import Booking, Child, Entitlement, Settlement
from youcard.errors import NotFound


@dataclass(frozen=True)
class Receipt:
    """A booking with the child's given name and what is left of the benefit now."""

    booking: Booking
    given_name: str
    left: Available
    cancelled: bool
    settled: bool  # in a month already finalized: a cancellation corrects the next month


def own_booking(session: Session, *, partner_id: int, booking_id: int) -> Booking:
    """One of the partner's bookings (not a cancellation row), else NotFound."""
    booking = session.get(Booking, booking_id)
    if (
        booking is None
        or booking.partner_id != partner_id
        or booking.kind is not BookingKind.BOOKING
    ):
        raise NotFound("No such booking.", code="booking_not_found")
    return booking


def receipt(session: Session, *, partner_id: int, booking_id: int, today: date) -> Receipt:
    """The receipt of one of the partner's bookings, with what is left on `today`."""
    booking = own_booking(session, partner_id=partner_id, booking_id=booking_id)
    entitlement, birth_date, given_name = session.execute(
        select(Entitlement, Child.birth_date, Child.given_name)
        .join(Child, Child.id == Entitlement.child_id)
        .where(Entitlement.id == booking.entitlement_id)
    ).one()
    cancelled = session.scalar(select(Booking.id).where(Booking.cancels_id == booking.id))
    settled = (
        booking.settlement_id is not None
        and session.scalar(select(Settlement.status).where(Settlement.id == booking.settlement_id))
        is SettlementStatus.FINALIZED
    )
    return Receipt(
        booking=booking,
        given_name=given_name,
        left=availability(entitlement, birth_date, today),
        cancelled=cancelled is not None,
        settled=bool(settled),
    )


CSV_HEADER = [
    "booking",
    "kind",
    "cancels",
    "created_at",
    "service_date",
    "category",
    "amount_eur",
    "units",
    "reference",
]


def month_csv(session: Session, *, partner_id: int, month: date) -> str:
    """The partner's bookings and cancellations made in the month (Berlin), a line each, as
    the semicolon CSV German spreadsheets expect; cancellations negative."""
    rows = session.scalars(
        select(Booking)
        .where(
            Booking.partner_id == partner_id,
            Booking.created_at >= berlin_midnight(month),
            Booking.created_at < berlin_midnight(budget.add_months(month, 1)),
        )
        .order_by(Booking.id)
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(CSV_HEADER)
    for row in rows:
        sign = -1 if row.kind is BookingKind.CANCELLATION else 1
        writer.writerow(
            [
                row.id,
                row.kind.value,
                row.cancels_id or "",
                row.created_at.isoformat(),
                row.service_date.isoformat(),
                row.category.value,
                euros(sign * row.amount_cents),
                row.units,
                csv_text(row.reference or ""),
            ]
        )
    return out.getvalue()
