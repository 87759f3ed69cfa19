"""A booking's writes, all or nothing: the PostgreSQL function `youcard_book`
(youcard/sql/youcard_book.sql) and the same steps as statements for SQLite.

The overspend guard is one conditional UPDATE of the entitlement's counters
(`... WHERE spent_cents + :amount <= :entitled`, the missing row means "not enough"); a
step that refuses undoes the ones before it; the CHECK constraints are the backstop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, Table, bindparam, text, update
from sqlalchemy.dialects import postgresql, sqlite

from youcard import audit
from youcard.db import DriverStatement, Session, upsert
from youcard.domain.enums import (
    BookingKind,
    EntitlementStatus,
)
from youcard.domain.models import (
    Booking,
    DailyUsage,
    Entitlement,
)

_bookings: Table = Booking.__table__  # type: ignore[assignment]
_entitlements: Table = Entitlement.__table__  # type: ignore[assignment]
_daily: Table = DailyUsage.__table__  # type: ignore[assignment]


def _guard(*, cents: bool, units: bool) -> Any:
    """The overspend guard: one conditional UPDATE, built once per shape."""
    e = _entitlements
    amount = bindparam("amount", type_=Integer())
    booked_units = bindparam("booked_units", type_=Integer())
    stmt = update(e).where(e.c.id == bindparam("e_id"), e.c.status == EntitlementStatus.APPROVED)
    if cents:
        stmt = stmt.where(e.c.spent_cents + amount <= bindparam("entitled", type_=Integer()))
    if units:
        stmt = stmt.where(
            e.c.spent_units + booked_units <= bindparam("b_units_total", type_=Integer())
        )
    return stmt.values(
        spent_cents=e.c.spent_cents + amount, spent_units=e.c.spent_units + booked_units
    ).returning(e.c.spent_cents, e.c.spent_units)


_GUARDS = {(c, u): _guard(cents=c, units=u) for c in (True, False) for u in (True, False)}
_BOOKING_INSERT = {
    name: module.insert(_bookings)
    .on_conflict_do_nothing(index_elements=["partner_id", "idempotency_key"])
    .returning(_bookings.c.id)
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}


@dataclass(frozen=True)
class Written:
    """What a booking's writes did: "booked", or which step refused ("refused": the overspend
    guard, "daily_limit", "replay": a twin with the same key committed first)."""

    outcome: str
    booking_id: int | None = None
    spent_cents: int | None = None
    spent_units: int | None = None


BOOK_CALL = DriverStatement(
    text(
        "SELECT outcome, booking_id, new_spent_cents, new_spent_units FROM youcard_book("
        ":issuer_id, :partner_id, :entitlement_id, :card_id, :category, :amount_cents, :units,"
        " :service_date, :reference, :idempotency_key, :request_hash, :device_token_id,"
        " :created_at, :entitled_cents, :units_total, :units_per_day, :actor, :audit_data)"
    )
)
_UNDO_GUARD = (
    update(_entitlements)
    .where(_entitlements.c.id == bindparam("e_id"))
    .values(
        spent_cents=_entitlements.c.spent_cents - bindparam("amount", type_=Integer()),
        spent_units=_entitlements.c.spent_units - bindparam("booked_units", type_=Integer()),
    )
)


@dataclass(frozen=True)
class BookingWrite:
    """What a booking writes, checked and decided: the parameters of `youcard_book`
    (youcard/sql/youcard_book.sql), in its order, and of `write_statements`."""

    issuer_id: str
    partner_id: int
    entitlement_id: int
    card_id: int
    category: str
    amount_cents: int
    units: int
    service_date: date
    reference: str | None
    idempotency_key: str
    request_hash: bytes
    device_token_id: int | None
    created_at: datetime
    entitled_cents: int | None  # the overspend guard's limit (None: units alone limit)
    units_total: int | None
    units_per_day: int | None
    actor: str
    audit_data: str  # canonical JSON


def write_booking(session: Session, w: BookingWrite) -> Written:
    """A booking's writes, all or nothing. On PostgreSQL one call of the database function
    `youcard_book` (youcard/sql/youcard_book.sql): one round trip, atomic on its own, so the
    partner API can run it outside a transaction. Elsewhere the same steps as statements."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        (row,) = BOOK_CALL.rows(connection, vars(w))
        return Written(row.outcome, row.booking_id, row.new_spent_cents, row.new_spent_units)
    return write_statements(session, w)


def write_bookings(session: Session, writes: list[BookingWrite]) -> list[Written]:
    """`write_booking` for each of a batch's bookings, one after the other, in order: on
    PostgreSQL in one pipeline (one round trip, each call atomic on its own)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        results = BOOK_CALL.rows_many(connection, [vars(w) for w in writes])
        return [
            Written(row.outcome, row.booking_id, row.new_spent_cents, row.new_spent_units)
            for (row,) in results
        ]
    return [write_statements(session, w) for w in writes]


def write_statements(session: Session, w: BookingWrite) -> Written:
    """The steps of `youcard_book`, in its order, as statements in the caller's transaction:
    the overspend guard, the per-day guard, the booking row, the audit event. A step that
    refuses undoes the ones before it."""
    connection = session.connection()
    guard = {
        "e_id": w.entitlement_id,
        "amount": w.amount_cents,
        "booked_units": w.units,
        "entitled": w.entitled_cents,
        "b_units_total": w.units_total,
    }
    shape = (w.entitled_cents is not None, w.units_total is not None)
    spent = connection.execute(_GUARDS[shape], guard).one_or_none()
    if spent is None:
        return Written("refused")
    if w.units_per_day is not None:
        daily = upsert(session, _daily).values(
            entitlement_id=w.entitlement_id,
            service_date=w.service_date,
            issuer_id=w.issuer_id,
            units=w.units,
        )
        daily = daily.on_conflict_do_update(
            index_elements=["entitlement_id", "service_date"],
            set_={"units": _daily.c.units + daily.excluded.units},
            where=_daily.c.units + daily.excluded.units <= w.units_per_day,
        ).returning(_daily.c.units)
        if connection.execute(daily).scalar_one_or_none() is None:
            connection.execute(_UNDO_GUARD, guard)
            # as the function: the counters its guard had reached (the caller ignores them)
            return Written("daily_limit", None, spent.spent_cents, spent.spent_units)
    booking_id = connection.execute(
        _BOOKING_INSERT[connection.dialect.name],
        {
            "issuer_id": w.issuer_id,
            "partner_id": w.partner_id,
            "entitlement_id": w.entitlement_id,
            "card_id": w.card_id,
            "category": w.category,
            "amount_cents": w.amount_cents,
            "units": w.units,
            "service_date": w.service_date,
            "reference": w.reference,
            "idempotency_key": w.idempotency_key,
            "request_hash": w.request_hash,
            "device_token_id": w.device_token_id,
            "created_at": w.created_at,
            "kind": BookingKind.BOOKING,
        },
    ).scalar_one_or_none()
    if booking_id is None:
        connection.execute(_UNDO_GUARD, guard)
        if w.units_per_day is not None:
            connection.execute(
                update(_daily)
                .where(
                    _daily.c.entitlement_id == w.entitlement_id,
                    _daily.c.service_date == w.service_date,
                )
                .values(units=_daily.c.units - w.units)
            )
        return Written("replay", None, spent.spent_cents, spent.spent_units)
    audit.record(
        session,
        issuer_id=w.issuer_id,
        actor=w.actor,
        action="booking.create",
        object_type="booking",
        object_id=booking_id,
        now=w.created_at,
        raw_data=w.audit_data,
    )
    return Written("booked", booking_id, spent.spent_cents, spent.spent_units)
