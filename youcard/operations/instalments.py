"""The mandates job (youcard.jobs.runner "mandates"): each active mandate's monthly instalment
booked on its day, once per month (the key `mandate:<id>:<YYYY-MM>`), with every guard of an
ordinary booking, a batch at a time; the outcome recorded on the mandate (youcard.operations.
mandates: making, ending and reading them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.util import identity_key

from youcard.clock import berlin_date
from youcard.db import PlannerStatistics, Session
from youcard.domain.models import Card, Mandate
from youcard.errors import DomainError
from youcard.messages import partner_events
from youcard.operations.booking import Standing, book_standing_many
from youcard.operations.mandates import next_due
from youcard.policy import Counter

INSTALMENTS_PER_TRANSACTION = 200

_mandates: Table = Mandate.__table__  # type: ignore[assignment]
_DUE = select(
    Mandate.id,
    Mandate.partner_id,
    Mandate.issuer_id,
    Mandate.category,
    Mandate.reference,
    Mandate.monthly_amount_cents,
    Mandate.day_of_month,
    Mandate.valid_until,
    Mandate.next_due,
    Card.serial,
).join(Card, Card.id == Mandate.card_id)
_OUTCOME = (  # what an instalment did, recorded on its mandate (one statement for a batch)
    update(_mandates)
    .where(_mandates.c.id == bindparam("m_id"))
    .values(
        last_result=bindparam("result"),
        last_booking_id=func.coalesce(bindparam("booking_id"), _mandates.c.last_booking_id),
        last_month=bindparam("month"),
        next_due=bindparam("next"),
    )
)


def _book_instalments(session: Session, due: Sequence[Any], now: datetime) -> int:
    """Book the instalment each mandate (a row of `_DUE`) has due on its `next_due` (once:
    its key), record the outcome on the mandate, move `next_due` a month on. Returns how
    many were booked.

    One batch (youcard.operations.booking.book_standing_many: a round trip for the reads
    and one for the writes) and one statement recording the outcomes; plain rows, not ORM
    objects (whose unit of work was a fifth of the job's time, bench/mandates.py). No
    savepoint: a refused booking writes nothing (the booking's write undoes
    its own steps), and any other error ends the whole transaction, which the next run does
    again."""
    asked = [
        Standing(
            by=Counter.of_partner(m.partner_id),
            card_serial=m.serial,
            card_issuer_id=m.issuer_id,
            category=m.category,
            amount_cents=m.monthly_amount_cents,
            idempotency_key=f"mandate:{m.id}:{m.next_due:%Y-%m}",
            service_date=m.next_due,
            reference=m.reference,
        )
        for m in due
    ]
    booked, outcomes, refused = 0, [], []
    for m, result in zip(due, book_standing_many(session, asked, now=now), strict=True):
        outcome = {
            "m_id": m.id,
            "month": f"{m.next_due:%Y-%m}",
            "next": next_due(m.next_due, m.day_of_month, m.valid_until),
        }
        if isinstance(result, DomainError):  # not enough left, no approved period...: shown
            outcome.update(result=result.code, booking_id=None)
            refused.append(
                (
                    m.id,
                    m.partner_id,
                    m.reference,
                    m.monthly_amount_cents,
                    outcome["month"],
                    result.code,
                )
            )
        else:
            outcome.update(result="booked", booking_id=result.booking.id)
            booked += not result.replayed
        outcomes.append(outcome)
    session.execute(_OUTCOME, outcomes)
    partner_events.instalments_refused(session, refused, now)
    for m in due:  # a Mandate loaded in this session reads what was recorded
        cached = session.identity_map.get(identity_key(Mandate, m.id))
        if cached is not None:
            session.expire(cached)
    return booked


def book_due_instalments(sessions: sessionmaker[Session], now: Callable[[], datetime]) -> int:
    """The job: every instalment due by today, a transaction of INSTALMENTS_PER_TRANSACTION
    mandates at a time; on PostgreSQL runners at the same time take different mandates (row
    locks, SKIP LOCKED); a run killed half-way leaves its transaction undone, and the next
    run books it (the key makes a second booking of a month impossible). A mandate several
    months behind (the jobs did not run) books each month in turn. Returns how many were
    booked."""
    booked = 0
    statistics: PlannerStatistics | None = None
    while True:
        with sessions.begin() as session:
            moment = now()
            today = berlin_date(moment)
            if statistics is None:
                statistics = PlannerStatistics(session, "bookings, mandates, audit_events")
            due = session.execute(
                _DUE.where(Mandate.status == "active", Mandate.next_due <= today)
                .order_by(Mandate.next_due, Mandate.id)
                .limit(INSTALMENTS_PER_TRANSACTION)
                .with_for_update(of=Mandate, skip_locked=True)
            ).all()
            if not due:
                return booked
            booked += _book_instalments(session, due, moment)
            statistics.grew(len(due), session)
