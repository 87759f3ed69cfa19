"""#29: the take-up report: per month and reminder, the children reminded and how many of
them booked within 30 days, beside the children not reminded; and the share of families
the office can reach at all."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update

from tests.factories import NOW, Factory, at_counter, trusted
from youcard.domain.enums import Category, Role
from youcard.domain.models import OutboxMessage
from youcard.messages.reminders import queue_reminders
from youcard.operations.booking import book
from youcard.policy import Staff
from youcard.reads.reminders import reminder_takeup

MARCH = 2  # the months' index


def test_reminded_children_who_booked_beside_those_not_reminded(private_committed):
    with private_committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        partner = make.partner(issuer, {Category.PARTICIPATION})
        cards = []
        for n in range(4):
            household = make.household(issuer)
            household.email = f"f{n}@example.org" if n < 3 else None  # the fourth: no way
            child = make.child(issuer, household=household)
            make.entitlement(child, period=(date(2025, 12, 1), date(2026, 11, 30)))
            cards.append(make.card(child).credential)
        approver = Staff.of(make.staff(issuer, Role.APPROVER))
        issuer_id = issuer.id
    assert queue_reminders(private_committed, lambda: NOW) == 3  # unused since December
    with private_committed.begin() as session:
        session.execute(update(OutboxMessage).values(status="sent", sent_at=NOW))
        for n, when in ((0, NOW + timedelta(days=3)), (1, NOW + timedelta(days=45))):
            book(
                session, by=at_counter(partner.id), credential=cards[n],
                trusted=trusted(session, issuer_id), category="participation",
                amount_cents=500, idempotency_key=f"k{n}", now=when,
            )  # fmt: skip
    with private_committed() as session:
        report = reminder_takeup(session, by=approver, year=2026, today=date(2026, 3, 16))
    unused = report.reminded["money_unused"][MARCH]
    assert (unused.children, unused.booked) == (3, 1)  # the second booked too late
    assert report.reminded["money_expiring"][MARCH].children == 0
    march = report.not_reminded[MARCH]
    assert (march.children, march.booked) == (1, 0)
    assert (report.families, report.reachable) == (4, 3)
    assert report.not_reminded[0].children == 4  # January: nobody was reminded yet
