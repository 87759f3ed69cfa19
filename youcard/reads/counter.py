"""What a partner's counter reads, for the API and the scanner page alike.

A `Counter` (youcard.policy) is who books: a scanner device (API, device token) or a
partner's staff member (scanner page, signed in). Checking a card, listing bookings and the monthly
statement are the same for both; every change goes through the ledger operations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import aliased

from youcard import credentials
from youcard.clock import berlin_date, berlin_midnight
from youcard.db import DriverStatement, Session
from youcard.domain import budget
from youcard.domain.enums import (
    BookingKind,
    CardStatus,
    Category,
    EntitlementStatus,
    PartnerStatus,
    RuleKind,
    SettlementStatus,
)
from youcard.domain.models import (
    Booking,
    Card,
    Child,
    Entitlement,
    Partner,
    PartnerPermission,
    PartnerUser,
    Settlement,
)
from youcard.domain.usability import card_refusal, partner_may_book, partner_refusal
from youcard.errors import Unauthorized
from youcard.operations.booking import BookingRecord, device_is_live, may_book
from youcard.policy import Counter


def staff_counter(session: Session, partner_user_id: int) -> Counter | None:
    """The counter of a signed-in partner staff member, or None if they may not book now."""
    user = session.get(PartnerUser, partner_user_id)
    if user is None or not user.active:
        return None
    return partner_counter(session, user.partner_id, partner_user_id=user.id)


def partner_counter(
    session: Session, partner_id: int, *, partner_user_id: int | None = None
) -> Counter | None:
    """The counter of partner `partner_id` itself (or of one of its staff), with what it may
    book on whose cards; None if it may not book now (unknown, suspended, ended). The
    mandates' instalments and the demo data book at it."""
    partner = session.get(Partner, partner_id)
    if partner is None or not partner_may_book(partner.status):
        return None
    permissions = session.execute(
        select(PartnerPermission.issuer_id, PartnerPermission.category).where(
            PartnerPermission.partner_id == partner.id
        )
    ).all()
    return Counter(
        partner_id=partner.id,
        partner_name=partner.name,
        permissions=frozenset((issuer, Category(category)) for issuer, category in permissions),
        partner_user_id=partner_user_id,
    )


def _check_query() -> Any:
    """Built once: the card, its child, whether the counter may still book, and the child's
    approved entitlements in the categories the partner may book for the card's issuer."""
    cards, children, e = Card.__table__, Child.__table__, Entitlement.__table__
    partners = Partner.__table__
    partner_id = bindparam("partner_id", type_=partners.c.id.type)
    permitted = may_book(partner_id, cards.c.issuer_id, e.c.category)
    partner_status = select(partners.c.status).where(partners.c.id == partner_id).scalar_subquery()
    device_live = device_is_live(partner_id)
    permissions = PartnerPermission.__table__
    serves_issuer = (
        select(permissions.c.partner_id)
        .where(
            permissions.c.partner_id == partner_id,
            permissions.c.issuer_id == cards.c.issuer_id,
        )
        .exists()
    )
    return (
        select(
            cards.c.status,
            cards.c.issuer_id,
            cards.c.valid_until.label("card_valid_until"),
            serves_issuer.label("serves_issuer"),
            children.c.given_name,
            children.c.birth_date,
            partner_status.label("partner_status"),
            device_live.label("device_live"),
            e.c.id.label("e_id"),
            e.c.category,
            e.c.valid_from,
            e.c.valid_until,
            e.c.rule,
            e.c.accrual,
            e.c.amount_cents,
            e.c.units_total,
            e.c.units_per_day,
            e.c.spent_cents,
            e.c.spent_units,
        )
        .select_from(
            cards.join(children, children.c.id == cards.c.child_id).outerjoin(
                e,
                and_(
                    e.c.child_id == cards.c.child_id,
                    e.c.status == EntitlementStatus.APPROVED,
                    permitted,
                ),
            )
        )
        .where(cards.c.serial == bindparam("serial"))
        .order_by(e.c.category, e.c.valid_from)
    )


_CHECK_QUERY = DriverStatement(_check_query())


def check_card(
    session: Session,
    *,
    by: Counter,
    credential: str,
    at: datetime,
    trusted: credentials.TrustedKeys,
) -> dict[str, Any]:
    """Verify a scanned credential; for a valid one the holder and what is left.

    The answer has docs/partner-api.md's verify shape: `valid`, and `reason` or `card`, `holder`
    (given name and birth year only) and `entitlements` (the partner's categories only).
    One query reads the card, the holder and the entitlements, and checks again that the
    counter's device is not revoked and its partner may book.
    """
    result = credentials.verify(credential, trusted=trusted, now=int(at.timestamp()))
    if not result.valid:
        return {"valid": False, "reason": result.reason}
    claims = result.claims
    assert claims is not None
    rows = _CHECK_QUERY.rows(
        session.connection(),
        {"serial": claims.serial, "partner_id": by.partner_id, "device_id": by.device_id},
    )
    first = rows[0] if rows else None
    if first is not None:
        if not first.device_live:
            raise Unauthorized("This device token is not valid.")
        refused = partner_refusal(_partner_status(first.partner_status))
        if refused is not None:
            raise refused
    # The booking's predicate (youcard.domain.usability): an unknown serial fails, one issuer's key
    # cannot vouch for another's card, and a card past its validity is expired.
    reason = card_refusal(
        status=None if first is None else CardStatus(first.status),
        issuer_id=None if first is None else first.issuer_id,
        valid_until=None if first is None else first.card_valid_until,
        claimed_issuer=claims.issuer,
        today=berlin_date(at),
    )
    if reason is not None:
        return {"valid": False, "reason": reason}
    assert first is not None
    if not first.serves_issuer:  # another city's card: nothing of the child for this partner
        return {"valid": True, "card": _card(claims), "holder": None, "entitlements": []}
    return {
        "valid": True,
        "card": _card(claims),
        "holder": {
            "given_name": first.given_name,
            "birth_year": first.birth_date.year if first.birth_date else None,
        },
        "entitlements": _entitlement_views(rows, berlin_date(at)),
    }


def _partner_status(value: str | None) -> PartnerStatus | None:
    """The partner's status as the driver returns it (its enum's value, or None)."""
    return None if value is None else PartnerStatus(value)


def _card(claims: credentials.Claims) -> dict[str, Any]:
    return {
        "serial": claims.serial.hex(),
        "issuer": claims.issuer,
        "version": claims.version,
        "expires_at": datetime.fromtimestamp(claims.expires_at, UTC),
    }


def _entitlement_views(rows: list[Any], today: date) -> list[dict[str, Any]]:
    views = []
    for row in rows:
        if row.e_id is None:
            continue
        category = Category(row.category)
        period = budget.effective_period(
            row.valid_from, row.valid_until, category=category, birth_date=row.birth_date
        )
        if period is None or today not in period:
            continue
        rule = budget.BudgetRule.of_row(row)
        left = budget.available(
            rule, period, today, spent_cents=row.spent_cents, spent_units=row.spent_units
        )
        views.append(
            {
                "id": row.e_id,
                "category": category.value,
                "available_cents": left.cents,
                "available_units": left.units,
                "units_per_day": row.units_per_day,
                "max_cents_per_unit": row.amount_cents if rule.kind is RuleKind.UNITS else None,
                "valid_until": period.end,
            }
        )
    return views


start_of = berlin_midnight  # midnight in Berlin at the start of a day, in UTC


def list_bookings(
    session: Session,
    *,
    by: Counter,
    limit: int,
    from_: date | None = None,
    to: date | None = None,
    before_id: int | None = None,
) -> tuple[list[BookingRecord], bool]:
    """The partner's own bookings, newest first, by creation date (Europe/Berlin), and
    whether there are more."""
    cancellation = aliased(Booking)
    stmt = (
        select(Booking, cancellation.id.is_not(None).label("cancelled"))
        .outerjoin(cancellation, cancellation.cancels_id == Booking.id)
        .where(Booking.partner_id == by.partner_id, Booking.kind == BookingKind.BOOKING)
        .order_by(Booking.id.desc())
        .limit(limit + 1)
    )
    if from_ is not None:
        stmt = stmt.where(Booking.created_at >= start_of(from_))
    if to is not None:
        stmt = stmt.where(Booking.created_at < start_of(to + timedelta(days=1)))
    if before_id is not None:
        stmt = stmt.where(Booking.id < before_id)
    rows = session.execute(stmt).all()
    records = [
        BookingRecord(
            id=b.id,
            partner_id=b.partner_id,
            entitlement_id=b.entitlement_id,
            category=b.category,
            amount_cents=b.amount_cents,
            units=b.units,
            service_date=b.service_date,
            reference=b.reference,
            created_at=b.created_at,
            cancelled=bool(cancelled),
        )
        for b, cancelled in rows[:limit]
    ]
    return records, len(rows) > limit


def _settled(session: Session, partner_id: int, first: date) -> bool:
    """Whether every issuer with bookings of the partner in the month has finalized it."""
    issuers = set(
        session.scalars(
            select(Booking.issuer_id)
            .where(
                Booking.partner_id == partner_id,
                Booking.created_at >= start_of(first),
                Booking.created_at < start_of(budget.add_months(first, 1)),
            )
            .distinct()
        )
    )
    if not issuers:
        return False
    finalized = set(
        session.scalars(
            select(Settlement.issuer_id).where(
                Settlement.issuer_id.in_(issuers),
                Settlement.month == first,
                Settlement.status == SettlementStatus.FINALIZED,
            )
        )
    )
    return finalized == issuers


def statement(session: Session, *, by: Counter, first: date) -> dict[str, Any]:
    """Bookings and cancellations made in the month starting `first` (Europe/Berlin),
    per category: provisional until the month is settled."""
    is_booking = Booking.kind == BookingKind.BOOKING
    rows = session.execute(
        select(
            Booking.category,
            func.sum(case((is_booking, 1), else_=0)),
            func.sum(case((is_booking, Booking.amount_cents), else_=0)),
            func.sum(case((is_booking, 0), else_=1)),
            func.sum(case((is_booking, 0), else_=Booking.amount_cents)),
        )
        .where(
            and_(
                Booking.partner_id == by.partner_id,
                Booking.created_at >= start_of(first),
                Booking.created_at < start_of(budget.add_months(first, 1)),
            )
        )
        .group_by(Booking.category)
        .order_by(Booking.category)
    ).all()
    lines = [
        {
            "category": Category(category).value,
            "bookings": int(count),
            "booked_cents": int(booked),
            "cancellations": int(cancels),
            "cancelled_cents": int(cancelled),
            "net_cents": int(booked) - int(cancelled),
        }
        for category, count, booked, cancels, cancelled in rows
    ]
    return {
        "month": first.strftime("%Y-%m"),
        "partner": by.partner_name,
        "status": "final" if _settled(session, by.partner_id, first) else "provisional",
        "lines": lines,
        "total_cents": sum(line["net_cents"] for line in lines),
    }
