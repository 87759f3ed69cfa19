"""What a caseworker sees of one child on the phone with the family: the balance of each
benefit, every booking and cancellation with what was left afterwards, and the cards with
their history (issued, blocked by the family or the office, replaced)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from youcard.clock import berlin_date
from youcard.db import Session
from youcard.domain.budget import Available
from youcard.domain.entitlement_rules import availability
from youcard.domain.enums import BookingKind, Category
from youcard.domain.models import AuditEvent, Booking, Card, Child, Entitlement, Household, Partner
from youcard.errors import NotFound
from youcard.policy import ALL_STAFF, Staff, require_role
from youcard.reads.actors import actor_names

MAX_MOVEMENTS = 1_000  # newest first; a school year of lunches is about 190


@dataclass(frozen=True)
class Balance:
    """A benefit: approved (the period's total, where it has one), booked net, left today."""

    entitlement: Entitlement
    total_cents: int | None
    booked_cents: int
    booked_units: int
    left: Available


@dataclass(frozen=True)
class Movement:
    """A booking (positive) or a cancellation (negative), and what was left afterwards of
    the benefit's total for its period (None where the benefit has no total)."""

    id: int
    kind: BookingKind
    day: date  # when it was booked (Europe/Berlin)
    service_date: date
    partner: str
    category: Category
    amount_cents: int
    units: int
    left_cents: int | None
    settled: bool


@dataclass(frozen=True)
class CardEvent:
    """One thing that happened to a card, and who did it, in words."""

    at: datetime
    action: str  # card.issue, card.revoke, card.replace, card.print
    by: str


@dataclass(frozen=True)
class CardHistory:
    card: Card
    events: tuple[CardEvent, ...]


@dataclass(frozen=True)
class ChildView:
    child: Child
    household: Household
    balances: tuple[Balance, ...]
    movements: tuple[Movement, ...]  # newest first
    more_movements: bool
    cards: tuple[CardHistory, ...]  # newest first


def child_view(session: Session, *, by: Staff, child_id: int, today: date) -> ChildView:
    """One child of the principal's issuer, as the caseworker's page shows it."""
    require_role(by, ALL_STAFF, "see families")
    child = session.get(Child, child_id)
    if child is None or child.issuer_id != by.issuer_id:
        raise NotFound("No such child.", code="child_not_found")
    household = session.get(Household, child.household_id)
    assert household is not None
    entitlements = session.scalars(
        select(Entitlement).where(Entitlement.child_id == child.id).order_by(Entitlement.id)
    ).all()
    rows = session.execute(
        select(Booking, Partner.name)
        .join(Partner, Partner.id == Booking.partner_id)
        .where(Booking.entitlement_id.in_([e.id for e in entitlements]))
        .order_by(Booking.id)
    ).all()
    spent: dict[int, int] = {}
    units: dict[int, int] = {}
    caps = {e.id: e.cap_cents for e in entitlements}
    movements = []
    for booking, partner in rows:
        sign = -1 if booking.kind is BookingKind.CANCELLATION else 1
        key = booking.entitlement_id
        spent[key] = spent.get(key, 0) + sign * booking.amount_cents
        units[key] = units.get(key, 0) + sign * booking.units
        cap = caps.get(key)
        movements.append(
            Movement(
                id=booking.id,
                kind=booking.kind,
                day=berlin_date(booking.created_at),
                service_date=booking.service_date,
                partner=partner,
                category=booking.category,
                amount_cents=sign * booking.amount_cents,
                units=sign * booking.units,
                left_cents=None if cap is None else cap - spent[key],
                settled=booking.settlement_id is not None,
            )
        )
    balances = tuple(
        Balance(
            entitlement=e,
            total_cents=e.cap_cents,
            booked_cents=spent.get(e.id, 0),
            booked_units=units.get(e.id, 0),
            left=availability(e, child.birth_date, today),
        )
        for e in entitlements
    )
    newest = movements[::-1]
    return ChildView(
        child=child,
        household=household,
        balances=balances,
        movements=tuple(newest[:MAX_MOVEMENTS]),
        more_movements=len(newest) > MAX_MOVEMENTS,
        cards=_card_histories(session, child.id),
    )


def _card_histories(session: Session, child_id: int) -> tuple[CardHistory, ...]:
    cards = session.scalars(
        select(Card).where(Card.child_id == child_id).order_by(Card.id.desc())
    ).all()
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == "card",
            AuditEvent.object_id.in_([str(c.id) for c in cards]),
        )
        .order_by(AuditEvent.id)
    ).all()
    names = actor_names(session, [e.actor for e in events])
    by_card: dict[str, list[CardEvent]] = {}
    for event in events:
        by_card.setdefault(event.object_id, []).append(
            CardEvent(event.occurred_at, event.action, names.get(event.actor, event.actor))
        )
    return tuple(CardHistory(card, tuple(by_card.get(str(card.id), []))) for card in cards)
