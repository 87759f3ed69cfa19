"""Whether reminders lift take-up (a read model for the city's reports): per month and
reminder, how many children were reminded and how many of them booked within 30 days,
beside the children with a benefit running that month who were not reminded (booked
within 30 days of the month's start); and the share of the families with a benefit
running today that the city can reach at all (an address or number not marked
undeliverable). Approvers and administrators, their own issuer's."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, select

from youcard.clock import berlin_date, berlin_midnight
from youcard.db import Session
from youcard.domain import budget
from youcard.domain.enums import BookingKind, EntitlementStatus
from youcard.domain.models import Booking, Card, Child, Entitlement, Household, OutboxMessage
from youcard.messages.outbox import REMINDERS
from youcard.policy import REPORT_READERS, Staff, require_role

WITHIN = timedelta(days=30)


@dataclass
class Group:
    """Children of one month (and reminder), and how many of them booked within 30 days."""

    children: int = 0
    booked: int = 0

    @property
    def share(self) -> float | None:
        return None if not self.children else self.booked / self.children


@dataclass
class TakeUp:
    year: int
    months: list[date]
    reminded: dict[str, list[Group]] = field(default_factory=dict)  # reminder -> per month
    not_reminded: list[Group] = field(default_factory=list)  # per month
    families: int = 0  # with a benefit running today
    reachable: int = 0  # of them, by e-mail or SMS


def reminder_takeup(session: Session, *, by: Staff, year: int, today: date) -> TakeUp:
    """The issuer's figures for `year`."""
    require_role(by, REPORT_READERS, "read the city's figures")
    months = [date(year, m, 1) for m in range(1, 13)]
    report = TakeUp(year, months, {r: [Group() for _ in months] for r in sorted(REMINDERS)})
    report.not_reminded = [Group() for _ in months]
    start, end = berlin_midnight(months[0]), berlin_midnight(date(year + 1, 1, 1))
    sent = session.execute(
        select(OutboxMessage.child_id, OutboxMessage.event, OutboxMessage.sent_at).where(
            OutboxMessage.issuer_id == by.issuer_id,
            OutboxMessage.event.in_(REMINDERS),
            OutboxMessage.status == "sent",
            OutboxMessage.sent_at >= start,
            OutboxMessage.sent_at < end,
            OutboxMessage.child_id.is_not(None),
        )
    ).all()
    first_sent: dict[tuple[int, str, int], datetime] = {}  # (child, reminder, month) -> when
    for child_id, event, sent_at in sent:
        if child_id is None or sent_at is None:
            continue  # (the query asks for neither)
        key = (child_id, event, berlin_date(sent_at).month - 1)
        if key not in first_sent or sent_at < first_sent[key]:
            first_sent[key] = sent_at
    bookings = _bookings(session, by.issuer_id, start, end + WITHIN)
    reminded_in: dict[int, set[int]] = defaultdict(set)  # month -> children reminded
    for (child_id, event, month), sent_at in first_sent.items():
        group = report.reminded[event][month]
        group.children += 1
        group.booked += _booked(bookings.get(child_id, []), sent_at)
        reminded_in[month].add(child_id)
    for month, first in enumerate(months):
        since = berlin_midnight(first)
        for child_id in _running(session, by.issuer_id, first) - reminded_in[month]:
            group = report.not_reminded[month]
            group.children += 1
            group.booked += _booked(bookings.get(child_id, []), since)
    report.families, report.reachable = _reach(session, by.issuer_id, today)
    return report


def _booked(times: list[datetime], since: datetime) -> bool:
    """Whether one of the (sorted) booking times lies within WITHIN after `since`."""
    i = bisect_left(times, since)
    return i < len(times) and times[i] < since + WITHIN


def _bookings(
    session: Session, issuer_id: str, start: datetime, end: datetime
) -> dict[int, list[datetime]]:
    found: dict[int, list[datetime]] = defaultdict(list)
    for child_id, created_at in session.execute(
        select(Card.child_id, Booking.created_at)
        .join(Card, Card.id == Booking.card_id)
        .where(
            Booking.issuer_id == issuer_id,
            Booking.kind == BookingKind.BOOKING,
            Booking.created_at >= start,
            Booking.created_at < end,
        )
    ):
        found[child_id].append(created_at)
    for times in found.values():
        times.sort()
    return found


def _running(session: Session, issuer_id: str, month: date) -> set[int]:
    """The children with an approved benefit running on some day of `month`."""
    last = budget.add_months(month, 1) - timedelta(days=1)
    return set(
        session.scalars(
            select(Entitlement.child_id).where(
                Entitlement.issuer_id == issuer_id,
                Entitlement.status == EntitlementStatus.APPROVED,
                Entitlement.valid_from <= last,
                Entitlement.valid_until >= month,
            )
        )
    )


def _reach(session: Session, issuer_id: str, today: date) -> tuple[int, int]:
    rows = session.execute(
        select(
            Household.id,
            Household.email,
            Household.email_undeliverable_at,
            Household.phone,
            Household.phone_undeliverable_at,
        )
        .join(Child, Child.household_id == Household.id)
        .join(Entitlement, Entitlement.child_id == Child.id)
        .where(
            Household.issuer_id == issuer_id,
            Household.erased_at.is_(None),
            Entitlement.status == EntitlementStatus.APPROVED,
            and_(Entitlement.valid_from <= today, Entitlement.valid_until >= today),
        )
        .distinct()
    ).all()
    reachable = sum(
        1
        for _, email, email_gone, phone, phone_gone in rows
        if (email and email_gone is None) or (phone and phone_gone is None)
    )
    return len(rows), reachable
