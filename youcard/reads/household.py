"""What the family's page shows a caseworker (a read model): the household, each child
with its benefits (what is left today, until when) and its cards, who made the family's
access code, and the messages the family was sent (youcard.messages). Every staff role
sees it, of its own issuer only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from youcard.db import Session
from youcard.domain.budget import Available
from youcard.domain.entitlement_rules import availability, usable_period
from youcard.domain.models import Card, Child, Entitlement, Household, OutboxMessage
from youcard.policy import ALL_STAFF, Staff, require_role
from youcard.reads.actors import actor_names
from youcard.tenancy import owned


@dataclass(frozen=True)
class BenefitRow:
    e: Entitlement
    left: Available  # today
    until: date  # the end of the period it can be used in (a lunch ends with school)


@dataclass(frozen=True)
class ChildRow:
    child: Child
    entitlements: Sequence[BenefitRow]  # oldest first
    cards: Sequence[Card]  # newest first


@dataclass(frozen=True)
class HouseholdView:
    household: Household
    children: Sequence[ChildRow]
    code_made_by: str  # who made the access code, by name ("–": none yet)
    messages: Sequence[OutboxMessage]  # what the family was told, newest first (MESSAGES)


MESSAGES = 20  # the newest messages a family's page lists


def household_view(session: Session, *, by: Staff, household_id: int, today: date) -> HouseholdView:
    """One household of `by`'s issuer, read with one query per kind (not per child)."""
    require_role(by, ALL_STAFF, "see families")
    household = owned(session, by, Household, household_id, "household")
    kids = list(household.children)
    ids = [child.id for child in kids]
    benefits: dict[int, list[Entitlement]] = defaultdict(list)
    cards: dict[int, list[Card]] = defaultdict(list)
    if ids:
        for e in session.scalars(
            select(Entitlement).where(Entitlement.child_id.in_(ids)).order_by(Entitlement.id)
        ):
            benefits[e.child_id].append(e)
        for card in session.scalars(
            select(Card).where(Card.child_id.in_(ids)).order_by(Card.id.desc())
        ):
            cards[card.child_id].append(card)
    children = [
        ChildRow(child, [_row(e, child, today) for e in benefits[child.id]], cards[child.id])
        for child in kids
    ]
    made_by = household.access_code_set_by
    names = actor_names(session, [made_by])
    messages = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.household_id == household.id)
        .order_by(OutboxMessage.id.desc())
        .limit(MESSAGES)
    ).all()
    return HouseholdView(household, children, names.get(made_by or "", "–"), messages)


def _row(e: Entitlement, child: Child, today: date) -> BenefitRow:
    period = usable_period(e, child.birth_date)
    return BenefitRow(
        e, availability(e, child.birth_date, today), period.end if period else e.valid_until
    )
