"""Bookings as partners and the ledger's callers see them: records, results, what is left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from youcard.db import Session
from youcard.domain.budget import Available
from youcard.domain.entitlement_rules import availability
from youcard.domain.enums import Category
from youcard.domain.models import (
    Booking,
    Child,
    Entitlement,
)


@dataclass(frozen=True)
class BookingRecord:
    """A booking as the partner sees it."""

    id: int
    partner_id: int
    entitlement_id: int
    category: Category
    amount_cents: int
    units: int
    service_date: date
    reference: str | None
    created_at: datetime
    cancelled: bool = False


@dataclass(frozen=True)
class BookingResult:
    """The booking, what is left after it, and whether this was a replay of an earlier request."""

    booking: BookingRecord
    available: Available
    replayed: bool


@dataclass(frozen=True)
class CancellationResult:
    """The cancelled booking, what is left now, and whether it had been cancelled before."""

    booking: BookingRecord
    cancellation_id: int
    available: Available
    already_cancelled: bool


def forget_counters(session: Session, entitlement_id: int) -> None:
    """Expire a loaded Entitlement's counters: the ledger moved them with Core statements."""
    cached = session.identity_map.get(identity_key(Entitlement, entitlement_id))
    if cached is not None:
        session.expire(cached, ["spent_cents", "spent_units", "status"])


def record_of(row: Any, *, cancelled: bool) -> BookingRecord:
    """A booking row (or one read with the same columns) as the partner sees it."""
    return BookingRecord(
        id=row.id,
        partner_id=row.partner_id,
        entitlement_id=row.entitlement_id,
        category=Category(row.category),
        amount_cents=row.amount_cents,
        units=row.units,
        service_date=row.service_date,
        reference=row.reference,
        created_at=row.created_at,
        cancelled=cancelled,
    )


def is_cancelled(session: Session, booking_id: int) -> bool:
    """Whether the booking has its cancellation."""
    return session.scalar(select(Booking.id).where(Booking.cancels_id == booking_id)) is not None


def current_availability(session: Session, entitlement_id: int, on: date) -> Available:
    """What is left of the entitlement on day `on`, as read now."""
    entitlement, birth_date = session.execute(
        select(Entitlement, Child.birth_date)
        .join(Child, Child.id == Entitlement.child_id)
        .where(Entitlement.id == entitlement_id)
    ).one()
    return availability(entitlement, birth_date, on)


def actor_of(partner_id: int, device_token_id: int | None) -> str:
    """Who booked, as the audit log names them: the device, else the partner."""
    return f"device:{device_token_id}" if device_token_id else f"partner:{partner_id}"
