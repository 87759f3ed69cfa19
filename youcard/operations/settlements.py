"""Monthly settlement: what an issuer pays each partner for a month, and locking it.

A run for month M takes every booking and cancellation of the issuer created before
the end of M (Europe/Berlin) that no finalized run holds yet. So a cancellation made
after M was finalized lands in a later run as a correction; nothing settled is ever
edited (database triggers refuse it). Sums are computed by the database (GROUP BY),
so a run over a million bookings needs no more memory than one over ten.

Per partner, a run pays its net plus what an earlier run carried over; a negative
result is not paid but carried into the partner's next run.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import ColumnElement, case, delete, func, select, update

from youcard import audit
from youcard.clock import berlin_date
from youcard.db import Session
from youcard.domain import budget
from youcard.domain.enums import BookingKind, SettlementStatus
from youcard.domain.models import Booking, Partner, Settlement, SettlementLine, SettlementPayment
from youcard.domain.settlement_rules import unsettled
from youcard.errors import Conflict, InvalidRequest, NotFound
from youcard.messages import partner_events
from youcard.policy import ADMINISTRATORS, Staff, require_role

MAX_MONTHS_BACK = 120


def _check_month(month: date, now: datetime) -> None:
    if month.day != 1:
        raise InvalidRequest("A settlement month starts on its first day.", code="invalid_month")
    this_month = berlin_date(now).replace(day=1)
    if month >= this_month:
        raise Conflict("Only a month that has ended can be settled.", code="month_not_ended")
    if month < budget.add_months(this_month, -MAX_MONTHS_BACK):
        raise InvalidRequest("That month is too long ago.", code="invalid_month")


def prepare(session: Session, *, by: Staff, month: date, now: datetime) -> Settlement:
    """The month's run as a draft, computed anew (the same bookings give the same numbers);
    a finalized run is returned as it is."""
    require_role(by, ADMINISTRATORS, "prepare settlements")
    _check_month(month, now)
    run = session.scalars(
        select(Settlement).where(Settlement.issuer_id == by.issuer_id, Settlement.month == month)
    ).one_or_none()
    if run is not None and run.status is SettlementStatus.FINALIZED:
        return run
    earlier = session.scalar(
        select(Settlement.month).where(
            Settlement.issuer_id == by.issuer_id,
            Settlement.month < month,
            Settlement.status == SettlementStatus.DRAFT,
        )
    )
    if earlier is not None:
        raise Conflict(
            f"Finalize {earlier:%Y-%m} first: runs are finalized month by month.",
            code="earlier_month_open",
        )
    later = session.scalar(
        select(Settlement.month).where(
            Settlement.issuer_id == by.issuer_id,
            Settlement.month > month,
            Settlement.status == SettlementStatus.FINALIZED,
        )
    )
    if later is not None:
        raise Conflict(
            f"{later:%Y-%m} is already finalized: its run holds this month's bookings.",
            code="later_month_finalized",
        )
    if run is None:
        run = Settlement(
            issuer_id=by.issuer_id,
            month=month,
            status=SettlementStatus.DRAFT,
            reference=f"YouCard {by.issuer_id} {month:%Y-%m}",
            created_at=now,
            computed_at=now,
        )
        session.add(run)
        session.flush()
        audit.record(
            session,
            issuer_id=by.issuer_id,
            actor=by.actor,
            action="settlement.create",
            object_type="settlement",
            object_id=run.id,
            now=now,
            data={"month": f"{month:%Y-%m}"},
        )
    _compute(session, run, unsettled(by.issuer_id, month), now)
    return run


def finalize(
    session: Session,
    *,
    settlement_id: int,
    by: Staff,
    now: datetime,
    expected_net_cents: int | None = None,
) -> Settlement:
    """Lock the run's bookings and the run. `expected_net_cents` is what the administrator
    reviewed: if bookings arrived since, nothing is finalized (review the new numbers).
    Finalizing a finalized run changes nothing."""
    require_role(by, ADMINISTRATORS, "finalize settlements")
    run = session.scalars(
        select(Settlement)
        .where(Settlement.id == settlement_id, Settlement.issuer_id == by.issuer_id)
        .with_for_update()
    ).one_or_none()
    if run is None:
        raise NotFound("No such settlement run.", code="settlement_not_found")
    if run.status is SettlementStatus.FINALIZED:
        return run
    _check_month(run.month, now)
    session.execute(
        update(Booking)
        .where(unsettled(by.issuer_id, run.month))
        .values(settlement_id=run.id)
        .execution_options(synchronize_session=False)
    )
    _compute(session, run, Booking.settlement_id == run.id, now)
    if expected_net_cents is not None and expected_net_cents != run.net_cents:
        raise Conflict(
            "Bookings changed since this run was reviewed; please review it again.",
            code="changed_since_review",
            net_cents=run.net_cents,
        )
    run.status = SettlementStatus.FINALIZED
    run.finalized_at = now
    run.finalized_by = by.actor
    session.flush()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="settlement.finalize",
        object_type="settlement",
        object_id=run.id,
        now=now,
        data={
            "month": f"{run.month:%Y-%m}",
            "net_cents": run.net_cents,
            "total_cents": run.total_cents,
            "bookings": run.bookings_count,
        },
    )
    partner_events.credit_notes_ready(session, settlement_id=run.id, month=run.month, now=now)
    return run


def _compute(
    session: Session, run: Settlement, selection: ColumnElement[bool], now: datetime
) -> None:
    """Lines per partner and category, payments per partner, and the run's totals."""
    session.execute(delete(SettlementLine).where(SettlementLine.settlement_id == run.id))
    session.execute(delete(SettlementPayment).where(SettlementPayment.settlement_id == run.id))
    is_booking = Booking.kind == BookingKind.BOOKING
    rows = session.execute(
        select(
            Booking.partner_id,
            Booking.category,
            func.sum(case((is_booking, 1), else_=0)),
            func.sum(case((is_booking, Booking.amount_cents), else_=0)),
            func.sum(case((is_booking, 0), else_=1)),
            func.sum(case((is_booking, 0), else_=Booking.amount_cents)),
        )
        .where(selection)
        .group_by(Booking.partner_id, Booking.category)
        .order_by(Booking.partner_id, Booking.category)
    ).all()
    net_by_partner: dict[int, int] = defaultdict(int)
    count = 0
    for partner_id, category, bookings, booked, cancellations, cancelled in rows:
        net = int(booked) - int(cancelled)
        session.add(
            SettlementLine(
                settlement_id=run.id,
                partner_id=partner_id,
                category=category,
                bookings=int(bookings),
                booked_cents=int(booked),
                cancellations=int(cancellations),
                cancelled_cents=int(cancelled),
                net_cents=net,
            )
        )
        net_by_partner[partner_id] += net
        count += int(bookings) + int(cancellations)
    carried = _carried_in(session, run)
    partners = {
        p.id: p
        for p in session.scalars(
            select(Partner).where(Partner.id.in_(set(net_by_partner) | set(carried)))
        )
    }
    total = 0
    for partner_id in sorted(set(net_by_partner) | set(carried)):
        balance = net_by_partner.get(partner_id, 0) + carried.get(partner_id, 0)
        partner = partners[partner_id]
        session.add(
            SettlementPayment(
                settlement_id=run.id,
                partner_id=partner_id,
                partner_name=partner.name,
                iban=partner.iban,
                net_cents=net_by_partner.get(partner_id, 0),
                carried_in_cents=carried.get(partner_id, 0),
                amount_cents=max(balance, 0),
                carried_out_cents=min(balance, 0),
                end_to_end_id=f"YC-{run.id}-{partner_id}",
            )
        )
        total += max(balance, 0)
    run.net_cents = sum(net_by_partner.values())
    run.total_cents = total
    run.bookings_count = count
    run.computed_at = now
    session.flush()


def _carried_in(session: Session, run: Settlement) -> dict[int, int]:
    """What the issuer's latest finalized run before this one carried over, per partner."""
    previous = session.scalar(
        select(Settlement.id)
        .where(
            Settlement.issuer_id == run.issuer_id,
            Settlement.month < run.month,
            Settlement.status == SettlementStatus.FINALIZED,
        )
        .order_by(Settlement.month.desc())
        .limit(1)
    )
    if previous is None:
        return {}
    return {
        partner_id: int(cents)
        for partner_id, cents in session.execute(
            select(SettlementPayment.partner_id, SettlementPayment.carried_out_cents).where(
                SettlementPayment.settlement_id == previous,
                SettlementPayment.carried_out_cents < 0,
            )
        )
    }
