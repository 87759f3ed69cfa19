"""The `reminders` job: families told what they could still use (docs/messages.md), once
per benefit and occasion, whatever how often it runs and on how many nodes (the outbox's
one row per event and address):

- `money_expiring`: an approved benefit whose usable days end within EXPIRING_DAYS with
  money left;
- `money_unused`: social and cultural participation approved for UNUSED_DAYS with nothing
  booked on it yet.

A family that stopped reminders on its page gets neither."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from youcard.clock import berlin_date
from youcard.db import Session
from youcard.domain.entitlement_rules import availability, usable_period
from youcard.domain.enums import Category, EntitlementStatus
from youcard.domain.models import Child, Entitlement, Household
from youcard.messages.outbox import tell_household

EXPIRING_DAYS = 30
UNUSED_DAYS = 90
BATCH = 500  # benefits looked at per transaction


def queue_reminders(sessions: sessionmaker[Session], now: Callable[[], datetime]) -> int:
    """Queue every reminder due today: how many messages were queued."""
    today = berlin_date(now())
    queued, after = 0, 0
    while True:
        with sessions.begin() as session:
            rows = session.execute(
                select(Entitlement, Child, Household)
                .join(Child, Child.id == Entitlement.child_id)
                .join(Household, Household.id == Child.household_id)
                .where(
                    Entitlement.id > after,
                    Entitlement.status == EntitlementStatus.APPROVED,
                    Entitlement.valid_from <= today,
                    Entitlement.valid_until >= today,
                    Household.reminders_off_at.is_(None),
                    Household.erased_at.is_(None),
                )
                .order_by(Entitlement.id)
                .limit(BATCH)
            ).all()
            for entitlement, child, household in rows:
                queued += _remind(session, entitlement, child, household, today, now())
        if len(rows) < BATCH:
            return queued
        after = rows[-1][0].id


def _remind(
    session: Session, e: Entitlement, child: Child, household: Household, today: date, now: datetime
) -> int:
    period = usable_period(e, child.birth_date)
    if period is None or period.end < today:
        return 0
    left = availability(e, child.birth_date, today)
    if not left.cents:
        return 0  # nothing left, or no money limit to tell (units alone)
    facts = {"child": child.given_name, "left_cents": left.cents}
    queued = 0
    if period.end - today <= timedelta(days=EXPIRING_DAYS):
        queued += tell_household(
            session,
            household,
            event="money_expiring",
            key=f"money_expiring:{e.id}:{period.end.isoformat()}",
            facts={**facts, "until": f"{period.end:%d.%m.%Y}"},
            now=now,
            child_id=child.id,
        )
    if (
        e.category is Category.PARTICIPATION
        and e.spent_cents == 0
        and today - e.valid_from >= timedelta(days=UNUSED_DAYS)
    ):
        queued += tell_household(
            session,
            household,
            event="money_unused",
            key=f"money_unused:{e.id}",
            facts=facts,
            now=now,
            child_id=child.id,
        )
    return queued
