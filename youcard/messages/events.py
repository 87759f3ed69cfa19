"""What tells a family something, and what its message names: each called by the operation
of its cause, inside that operation's unit of work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from youcard.clock import berlin_date
from youcard.db import Session
from youcard.domain.access_codes import shown
from youcard.domain.models import Card, Child, Entitlement, Household, Mandate, Partner
from youcard.messages.outbox import SEALED, addresses, tell_household
from youcard.messages.sealed import seal


def _household_of(session: Session, child_id: int) -> tuple[Child, Household] | None:
    row = session.execute(
        select(Child, Household)
        .join(Household, Household.id == Child.household_id)
        .where(Child.id == child_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def reaches(household: Household, event: str) -> bool:
    """Whether the message of `event` would reach `household` (an address that works)."""
    return bool(addresses(household, event))


def benefit_approved(
    session: Session,
    entitlement: Entitlement,
    child: Child,
    household: Household,
    now: datetime,
    *,
    code: str | None = None,
    kek: bytes | None = None,
) -> int:
    """A benefit of `child` (of `household`) was approved; `code`: the household's first
    access code, made for this message (kept sealed with `kek` until it is sent)."""
    key = f"benefit_approved:{entitlement.id}"
    facts: dict[str, object] = {
        "child": child.given_name,
        "category": entitlement.category.value,
        "start": f"{entitlement.valid_from:%d.%m.%Y}",
        "until": f"{entitlement.valid_until:%d.%m.%Y}",
    }
    if code is not None:
        if kek is None:
            raise ValueError("an access code goes into the outbox sealed, with the KEK")
        facts[SEALED] = seal(kek, shown(code), event_key=key)  # as the family reads it
    return tell_household(
        session,
        household,
        event="benefit_approved",
        key=key,
        facts=facts,
        now=now,
        child_id=child.id,
    )


def booking_refused(
    session: Session,
    *,
    card_id: int,
    partner_id: int,
    category: str,
    reason: str,
    now: datetime,
) -> int:
    """A partner's booking from the child's card was refused at the counter for `reason`
    (a refusal's code): told once per card, reason and day, however often it is tried."""
    card = session.get(Card, card_id)
    partner = session.get(Partner, partner_id)
    found = None if card is None else _household_of(session, card.child_id)
    if found is None or partner is None:
        return 0
    child, household = found
    return tell_household(
        session,
        household,
        event="booking_refused",
        key=f"booking_refused:{card_id}:{reason}:{berlin_date(now)}",
        facts={
            "child": child.given_name,
            "partner": partner.name,
            "category": category,
            "reason": reason,
        },
        now=now,
        child_id=child.id,
    )


def card_blocked(session: Session, card: Card, now: datetime) -> int:
    """A card was blocked (by the office, or by the family as lost)."""
    found = _household_of(session, card.child_id)
    if found is None:
        return 0
    child, household = found
    return tell_household(
        session,
        household,
        event="card_blocked",
        key=f"card_blocked:{card.id}",
        facts={"child": child.given_name},
        now=now,
        child_id=child.id,
    )


def _parties(session: Session, mandate: Mandate) -> tuple[Child, Household, Partner] | None:
    """The child, its family and the partner of a mandate; None when one is gone."""
    found = _household_of(session, mandate.child_id)
    partner = session.get(Partner, mandate.partner_id)
    if found is None or partner is None:
        return None
    return (*found, partner)


def mandate_started(session: Session, mandate: Mandate, now: datetime) -> int:
    """A partner made a standing monthly booking for a child (a list mandate tells nothing:
    each of its bookings is its own)."""
    cents = mandate.monthly_amount_cents  # a list mandate tells nothing: each booking is its own
    parties = None if cents is None else _parties(session, mandate)
    if cents is None or parties is None:
        return 0
    child, household, partner = parties
    return tell_household(
        session,
        household,
        event="mandate_started",
        key=f"mandate_started:{mandate.id}",
        facts={
            "child": child.given_name,
            "partner": partner.name,
            "amount_cents": cents,
            "start": f"{mandate.valid_from:%d.%m.%Y}",
        },
        now=now,
        child_id=child.id,
    )


def mandate_ended(session: Session, mandate: Mandate, now: datetime) -> int:
    """A standing monthly booking ended (by the partner, the family or the office)."""
    cents = mandate.monthly_amount_cents  # a list mandate tells nothing: each booking is its own
    parties = None if cents is None else _parties(session, mandate)
    if cents is None or parties is None:
        return 0
    child, household, partner = parties
    return tell_household(
        session,
        household,
        event="mandate_ended",
        key=f"mandate_ended:{mandate.id}",
        facts={"child": child.given_name, "partner": partner.name},
        now=now,
        child_id=child.id,
    )
