"""Cancelling a booking: its own row, unique per booking, and the budget given back once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, select, update
from sqlalchemy.orm import aliased

from youcard import audit
from youcard.clock import berlin_date
from youcard.db import Session, upsert
from youcard.domain.enums import BookingKind
from youcard.domain.models import (
    Booking,
    DailyUsage,
    Entitlement,
)
from youcard.errors import NotFound
from youcard.operations.booking.inputs import MAX_ID, is_int
from youcard.operations.booking.records import (
    CancellationResult,
    current_availability,
    forget_counters,
    record_of,
)
from youcard.policy import Counter

_bookings: Table = Booking.__table__  # type: ignore[assignment]
_entitlements: Table = Entitlement.__table__  # type: ignore[assignment]
_daily: Table = DailyUsage.__table__  # type: ignore[assignment]


def cancel_booking(
    session: Session,
    *,
    by: Counter,
    booking_id: int,
    now: datetime,
) -> CancellationResult:
    """Cancel one of the partner's bookings; gives the budget back exactly once.

    Another partner's booking is "not found" (never "forbidden": no one learns it exists).
    Cancelling twice is harmless and answers with the first cancellation.
    """
    if not is_int(booking_id) or not 0 < booking_id <= MAX_ID:
        raise NotFound("No such booking.", code="booking_not_found")
    original = session.execute(
        select(Booking).where(
            Booking.id == booking_id,
            Booking.partner_id == by.partner_id,
            Booking.kind == BookingKind.BOOKING,
        )
    ).scalar_one_or_none()
    if original is None:
        raise NotFound("No such booking.", code="booking_not_found")
    today = berlin_date(now)

    cancellation_id = session.execute(
        upsert(session, _bookings)
        .values(
            issuer_id=original.issuer_id,
            partner_id=original.partner_id,
            entitlement_id=original.entitlement_id,
            card_id=original.card_id,
            kind=BookingKind.CANCELLATION,
            cancels_id=original.id,
            category=original.category,
            amount_cents=original.amount_cents,
            units=original.units,
            service_date=original.service_date,
            reference=original.reference,
            device_token_id=by.device_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["cancels_id"])
        .returning(_bookings.c.id)
    ).scalar_one_or_none()
    if cancellation_id is None:
        earlier = aliased(Booking)
        first = session.scalar(select(earlier.id).where(earlier.cancels_id == original.id))
        assert first is not None  # the conflicting cancellation is committed and visible now
        return CancellationResult(
            booking=record_of(original, cancelled=True),
            cancellation_id=first,
            available=current_availability(session, original.entitlement_id, today),
            already_cancelled=True,
        )

    session.execute(
        update(_entitlements)
        .where(_entitlements.c.id == original.entitlement_id)
        .values(
            spent_cents=_entitlements.c.spent_cents - original.amount_cents,
            spent_units=_entitlements.c.spent_units - original.units,
        )
    )
    if original.units:
        session.execute(
            update(_daily)
            .where(
                _daily.c.entitlement_id == original.entitlement_id,
                _daily.c.service_date == original.service_date,
            )
            .values(units=_daily.c.units - original.units)
        )
    forget_counters(session, original.entitlement_id)
    audit.record(
        session,
        issuer_id=original.issuer_id,
        actor=by.actor,
        action="booking.cancel",
        object_type="booking",
        object_id=original.id,
        now=now,
        data={"cancellation_id": cancellation_id, "amount_cents": original.amount_cents},
    )
    return CancellationResult(
        booking=record_of(original, cancelled=True),
        cancellation_id=cancellation_id,
        available=current_availability(session, original.entitlement_id, today),
        already_cancelled=False,
    )
