"""What waits for the city office's staff on their start page (a read model): benefits
waiting for a second person's decision, how many families there are, and cards families
blocked that wait for a replacement."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from youcard.db import Session
from youcard.domain.enums import EntitlementStatus
from youcard.domain.models import Entitlement, Household
from youcard.operations.cards import BlockedCard, blocked_by_families
from youcard.policy import ALL_STAFF, Staff, require_role


@dataclass(frozen=True)
class Dashboard:
    waiting: int  # recorded benefits waiting for a decision
    households: int
    blocked: list[BlockedCard]


def dashboard(session: Session, *, by: Staff) -> Dashboard:
    """The start page of `by`'s issuer."""
    require_role(by, ALL_STAFF, "see the start page")
    waiting = session.scalar(
        select(func.count())
        .select_from(Entitlement)
        .where(
            Entitlement.issuer_id == by.issuer_id,
            Entitlement.status == EntitlementStatus.RECORDED,
        )
    )
    households = session.scalar(
        select(func.count()).select_from(Household).where(Household.issuer_id == by.issuer_id)
    )
    return Dashboard(waiting or 0, households or 0, blocked_by_families(session, by=by))
