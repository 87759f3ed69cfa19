"""What waits for an approver: entitlements recorded by someone else, oldest first, a page
at a time, with how many wait in all (a city's import can leave thousands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from youcard.db import Session
from youcard.domain.enums import EntitlementStatus
from youcard.domain.models import Child, Entitlement, Household
from youcard.policy import DECIDERS, Staff, require_role


@dataclass(frozen=True)
class ApprovalPage:
    """(entitlement, child, household) rows, how many wait in all, and where the next page
    starts."""

    rows: list[Any]
    total: int
    next_after: int | None


def approval_queue(
    session: Session, *, by: Staff, limit: int, after: int | None = None
) -> ApprovalPage:
    """The principal's issuer's recorded entitlements that the principal may decide (not
    their own: four eyes), oldest first, after entitlement `after`."""
    require_role(by, DECIDERS, "decide on entitlements")
    waiting = select(Entitlement.id).where(
        Entitlement.issuer_id == by.issuer_id,
        Entitlement.status == EntitlementStatus.RECORDED,
        Entitlement.recorded_by_id != by.user_id,
    )
    total = session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
    query = (
        select(Entitlement, Child, Household)
        .join(Child, Child.id == Entitlement.child_id)
        .join(Household, Household.id == Child.household_id)
        .where(Entitlement.id.in_(waiting))
    )
    if after is not None:
        query = query.where(Entitlement.id > after)
    rows = list(session.execute(query.order_by(Entitlement.id).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return ApprovalPage(rows, total, rows[-1][0].id if more and rows else None)
