"""Retention and erasure (docs/operations.md "Operations and data protection"): a household's names,
birth dates, address and contacts are erased YOUCARD_ERASE_AFTER_YEARS (default 3) after its
last entitlement ended — or, with none, after it was recorded. The money records stay for
the budget law's years, pseudonymous: bookings, settlements, cards and the audit chain name
a household and its children by YouCard's ids and the city's references (case, child,
decision), never by name, so erasure changes no sealed event and the chain verifies as
before. The erasure itself is an audit event (`household.erase`, ids and counts only).

The money records themselves go YOUCARD_KEEP_MONEY_YEARS (default 10) after their benefit
ended, once settled and paid (`forget_old_money`).

Uploaded approvals files are personal data too: a batch's file and its lines' copies of
names go the same years after the batch was uploaded (the counts and outcomes stay). So
are partners' applications (a contact person, an e-mail address, an IBAN): a decided one
goes the same years after its decision (the partner it became keeps its profile; the
audit log keeps the decision).

Run by the `retention` job (youcard.jobs.runner) and `youcard retention [--dry-run]`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, Table, delete, exists, func, or_, select, update
from sqlalchemy.orm import sessionmaker

from youcard import audit
from youcard.clock import BERLIN, berlin_date
from youcard.db import Session
from youcard.domain.enums import SettlementStatus
from youcard.domain.models import (
    Booking,
    Child,
    DailyUsage,
    Entitlement,
    Household,
    ImportBatch,
    ImportLine,
    Mandate,
    MoneyRetention,
    OfflineAllowance,
    OfflineBooking,
    OutboxMessage,
    PartnerApplication,
    Settlement,
    SettlementLine,
    SettlementPayment,
)

BATCH = 100  # households erased per transaction
ACTOR = "system:retention"  # who erased and forgot, in the audit log and on mandates
_lines: Table = ImportLine.__table__  # type: ignore[assignment]


def erase_after_years() -> int:
    """YOUCARD_ERASE_AFTER_YEARS (default 3, at least 1)."""
    return max(int(os.environ.get("YOUCARD_ERASE_AFTER_YEARS", "3")), 1)


def cutoff(today: date, years: int) -> date:
    """The same day `years` back (29 February: the 28th): what ended before it is due."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


@dataclass(frozen=True)
class Due:
    """A household whose personal data is due for erasure."""

    household_id: int
    issuer_id: str
    reference: str
    last_ended: date | None  # the last entitlement's end (None: it never had one)
    recorded: datetime


def _due(before: date) -> list[Any]:
    """Conditions: not yet erased, recorded before `before`, no entitlement ending on or
    after it."""
    later = exists().where(
        Child.household_id == Household.id,
        Entitlement.child_id == Child.id,
        Entitlement.valid_until >= before,
    )
    return [
        Household.erased_at.is_(None),
        Household.created_at < datetime.combine(before, time(), BERLIN),
        ~later,
    ]


def due_households(
    session: Session,
    *,
    today: date,
    years: int,
    issuer_id: str | None = None,
    among: list[int] | None = None,
    limit: int = 1_000,
) -> list[Due]:
    """The households due for erasure on `today` (oldest ids first, at most `limit`), of one
    issuer or `among` some ids if given; with the last entitlement's end."""
    ended = (
        select(func.max(Entitlement.valid_until))
        .join(Child, Child.id == Entitlement.child_id)
        .where(Child.household_id == Household.id)
        .scalar_subquery()
    )
    query = select(
        Household.id, Household.issuer_id, Household.reference, ended, Household.created_at
    ).where(*_due(cutoff(today, years)))
    if issuer_id is not None:
        query = query.where(Household.issuer_id == issuer_id)
    if among is not None:
        query = query.where(Household.id.in_(among))
    return [Due(*row) for row in session.execute(query.order_by(Household.id).limit(limit))]


def erase_household(session: Session, household: Household, now: datetime) -> None:
    """Erase the household's and its children's personal data now (the caller checked it is
    due and holds its row lock); end its mandates; audit it."""
    children = list(session.scalars(select(Child).where(Child.household_id == household.id)))
    household.family_name = ""
    household.street = household.postal_code = household.city = None
    household.email = household.phone = None
    household.email_undeliverable_at = household.phone_undeliverable_at = None
    # its messages name its address and its children: they go too, sent or waiting
    session.execute(delete(OutboxMessage).where(OutboxMessage.household_id == household.id))
    household.access_code_hash = None
    household.access_code_set_at = household.access_code_set_by = None
    household.access_code_delivered_at = None
    household.session_generation += 1  # a family still signed in is signed out
    household.erased_at = now
    for child in children:
        child.given_name = child.family_name = ""  # the search keys follow (youcard.domain.search)
        child.birth_date = None
    ended = session.execute(
        update(Mandate)
        .where(Mandate.child_id.in_([c.id for c in children]), Mandate.status == "active")
        .values(status="ended", ended_at=now, ended_by=ACTOR, next_due=None)
        .returning(Mandate.id)
    ).all()
    session.flush()
    audit.record(
        session,
        issuer_id=household.issuer_id,
        actor=ACTOR,
        action="household.erase",
        object_type="household",
        object_id=household.id,
        now=now,
        data={"children": len(children), "mandates_ended": len(ended)},
    )


def erase_due_households(
    sessions: sessionmaker[Session], now: Callable[[], datetime], *, years: int | None = None
) -> int:
    """The job: erase every household due, BATCH per transaction. Runners at the same time
    take different households (row locks, SKIP LOCKED) and each checks again under its lock;
    a run killed half-way leaves its transaction undone. Returns how many were erased."""
    years = erase_after_years() if years is None else years
    erased = 0
    while True:
        with sessions.begin() as session:
            moment = now()
            households = list(
                session.scalars(
                    select(Household)
                    .where(*_due(cutoff(berlin_date(moment), years)))
                    .order_by(Household.id)
                    .limit(BATCH)
                    .with_for_update(of=Household, skip_locked=True)
                )
            )
            if not households:
                return erased
            still = due_households(  # checked again under the lock: nothing came in between
                session,
                today=berlin_date(moment),
                years=years,
                among=[h.id for h in households],
                limit=BATCH,
            )
            ids = {d.household_id for d in still}
            for household in households:
                if household.id in ids:
                    erase_household(session, household, moment)
                    erased += 1
            if not ids:
                return erased


def forget_old_import_files(
    sessions: sessionmaker[Session], now: Callable[[], datetime], *, years: int | None = None
) -> int:
    """Uploaded approvals files and their lines' copies of names and birth dates go `years`
    after the upload (the batch's counts and each line's outcome stay). Returns how many
    batches were forgotten."""
    years = erase_after_years() if years is None else years
    with sessions.begin() as session:
        before = datetime.combine(cutoff(berlin_date(now()), years), time(), BERLIN)
        old = list(
            session.scalars(
                select(ImportBatch.id).where(
                    ImportBatch.recorded_at < before, ImportBatch.data.is_not(None)
                )
            )
        )
        if old:
            session.execute(update(ImportBatch).where(ImportBatch.id.in_(old)).values(data=None))
            session.execute(
                update(_lines).where(_lines.c.batch_id.in_(old)).values(data="", child_key=None)
            )
        return len(old)


def forget_decided_applications(
    sessions: sessionmaker[Session], now: Callable[[], datetime], *, years: int | None = None
) -> int:
    """Partners' applications decided more than `years` ago go (approved or refused; one
    waiting for a decision stays). Returns how many went."""
    years = erase_after_years() if years is None else years
    with sessions.begin() as session:
        before = datetime.combine(cutoff(berlin_date(now()), years), time(), BERLIN)
        gone = session.execute(
            delete(PartnerApplication).where(
                PartnerApplication.status != "waiting", PartnerApplication.decided_at < before
            )
        )
        return int(getattr(gone, "rowcount", 0) or 0)


ALLOWANCE_DAYS = 400  # the offline-risk report shows the last 12 months


def forget_old_allowances(sessions: sessionmaker[Session], now: Callable[[], datetime]) -> int:
    """Offline allowances (one an hour per counter) that ended more than ALLOWANCE_DAYS ago
    and that no offline booking names go: the offline-risk report's last 12 months keep
    theirs. Returns how many went."""
    with sessions.begin() as session:
        used = exists().where(OfflineBooking.allowance_id == OfflineAllowance.id)
        gone = session.execute(
            delete(OfflineAllowance).where(
                OfflineAllowance.valid_until < now() - timedelta(days=ALLOWANCE_DAYS), ~used
            )
        )
        return int(getattr(gone, "rowcount", 0) or 0)


def keep_money_years() -> int:
    """YOUCARD_KEEP_MONEY_YEARS (default 10: the budget law's years), never fewer than the
    years after which names are erased."""
    years = int(os.environ.get("YOUCARD_KEEP_MONEY_YEARS", "10"))
    return max(years, erase_after_years())


MONEY_BATCH = 500  # benefits forgotten per transaction


def money_cutoff(today: date, years: int) -> date:
    """The first day of the month `years` back: money records before it may go."""
    return cutoff(today, years).replace(day=1)


def _forgettable(month: date) -> Select[int]:
    """Benefits that ended before `month` whose every booking is in a finalized settlement
    of a month before it."""
    settled_before = exists().where(
        Settlement.id == Booking.settlement_id,
        Settlement.status == SettlementStatus.FINALIZED,
        Settlement.month < month,
    )
    still_needed = exists().where(
        Booking.entitlement_id == Entitlement.id,
        or_(Booking.settlement_id.is_(None), ~settled_before),
    )
    return select(Entitlement.id).where(Entitlement.valid_until < month, ~still_needed)


def old_money(session: Session, *, today: date, years: int) -> int:
    """How many benefits' money records `forget_old_money` would forget today (dry run)."""
    query = _forgettable(money_cutoff(today, years)).subquery()
    return int(session.scalar(select(func.count()).select_from(query)) or 0)


def forget_old_money(
    sessions: sessionmaker[Session], now: Callable[[], datetime], *, years: int | None = None
) -> int:
    """The end of the money records' retention: a benefit that ended `years` ago goes with
    its bookings, cancellations and daily counts — all together, so its counters and its
    rows never disagree (the ledger check) — once every booking of it is in a finalized
    settlement of a month before the cutoff (nothing unpaid, nothing still settling goes);
    then the finalized settlements before the cutoff that no booking is left in, with their
    lines and payments. The audit chain stays whole (its events hold ids, not money rows).
    Runners at the same time take different benefits (SKIP LOCKED). Returns how many
    benefits were forgotten."""
    years = keep_money_years() if years is None else years
    month = money_cutoff(berlin_date(now()), years)
    with sessions.begin() as session:  # the triggers' one exception (migration 0022)
        session.execute(
            update(MoneyRetention)
            .where(MoneyRetention.id == 1)
            .where(
                or_(MoneyRetention.forget_before.is_(None), MoneyRetention.forget_before < month)
            )  # never earlier again
            .values(forget_before=month)
        )
    forgotten = 0
    while True:
        with sessions.begin() as session:
            ids = list(
                session.scalars(
                    _forgettable(month)
                    .order_by(Entitlement.id)
                    .limit(MONEY_BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            if ids:
                booked = select(Booking.id).where(Booking.entitlement_id.in_(ids))
                session.execute(
                    update(Mandate)
                    .where(Mandate.last_booking_id.in_(booked))
                    .values(last_booking_id=None)
                )
                session.execute(  # as it arrived offline: goes with its booking
                    delete(OfflineBooking).where(OfflineBooking.booking_id.in_(booked))
                )
                session.execute(  # cancellations first: they point at their bookings
                    delete(Booking).where(
                        Booking.entitlement_id.in_(ids), Booking.cancels_id.is_not(None)
                    )
                )
                session.execute(delete(Booking).where(Booking.entitlement_id.in_(ids)))
                session.execute(delete(DailyUsage).where(DailyUsage.entitlement_id.in_(ids)))
                issuers = session.execute(
                    select(Entitlement.issuer_id, func.count())
                    .where(Entitlement.id.in_(ids))
                    .group_by(Entitlement.issuer_id)
                ).all()
                session.execute(delete(Entitlement).where(Entitlement.id.in_(ids)))
                for issuer_id, count in issuers:
                    audit.record(
                        session,
                        issuer_id=issuer_id,
                        actor=ACTOR,
                        action="money.forget",
                        object_type="issuer",
                        object_id=issuer_id,
                        now=now(),
                        data={"benefits": count, "before": month.isoformat()},
                    )
                forgotten += len(ids)
                continue
            empty = select(Settlement.id).where(
                Settlement.status == SettlementStatus.FINALIZED,
                Settlement.month < month,
                ~exists().where(Booking.settlement_id == Settlement.id),
            )
            old = list(session.scalars(empty.with_for_update(skip_locked=True)))
            if old:
                session.execute(delete(SettlementLine).where(SettlementLine.settlement_id.in_(old)))
                session.execute(
                    delete(SettlementPayment).where(SettlementPayment.settlement_id.in_(old))
                )
                session.execute(delete(Settlement).where(Settlement.id.in_(old)))
            session.execute(  # offline bookings not covered: no money, the same years
                delete(OfflineBooking).where(
                    OfflineBooking.booking_id.is_(None), OfflineBooking.service_date < month
                )
            )
            return forgotten
