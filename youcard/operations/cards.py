"""Issue cards: a random 128-bit serial per child, valid to the end of its latest approval."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from youcard import audit
from youcard.clock import berlin_date
from youcard.db import Session
from youcard.enums import CardStatus, EntitlementStatus
from youcard.errors import Conflict, NotFound
from youcard.models import Card, Child, Entitlement
from youcard.operations.entitlements import usable_period

SERIAL_BYTES = 16


def issue_card(
    session: Session,
    *,
    child_id: int,
    issuer_id: str,
    actor: str,
    now: datetime,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Card:
    """Issue the child's card; refused while it has an active card or no current approval."""
    child = session.get(Child, child_id)
    if child is None or child.issuer_id != issuer_id:
        raise NotFound("No such child.", code="child_not_found")
    today = berlin_date(now)
    active = session.scalars(
        select(Card.id).where(Card.child_id == child.id, Card.status == CardStatus.ACTIVE)
    ).first()
    if active is not None:
        raise Conflict("The child already has an active card.", code="card_exists")
    ends = [
        period.end
        for entitlement in session.scalars(
            select(Entitlement).where(
                Entitlement.child_id == child.id,
                Entitlement.status == EntitlementStatus.APPROVED,
            )
        )
        if (period := usable_period(entitlement, child.birth_date)) is not None
        and period.end >= today
    ]
    if not ends:
        raise Conflict("The child has no current approved entitlement.", code="nothing_approved")
    card = Card(
        issuer_id=child.issuer_id,
        child_id=child.id,
        serial=random_bytes(SERIAL_BYTES),
        version=1,
        status=CardStatus.ACTIVE,
        valid_from=today,
        valid_until=max(ends),
        issued_at=now,
    )
    session.add(card)
    session.flush()
    audit.record(
        session,
        issuer_id=child.issuer_id,
        actor=actor,
        action="card.issue",
        object_type="card",
        object_id=card.id,
        now=now,
        data={"child_id": child.id, "valid_until": card.valid_until.isoformat()},
    )
    return card
