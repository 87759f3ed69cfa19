"""Two counters that booked one card offline send their bookings at the same moment, on
PostgreSQL with real parallel clients: the budget covers one; the other is recorded as not
covered — never both booked, never one lost."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import NOW, Factory, at_once, trusted
from youcard.domain.budget import BudgetRule, RuleKind
from youcard.domain.enums import Category, Role
from youcard.domain.models import Entitlement, OfflineBooking
from youcard.operations.booking import NotCovered, book_offline
from youcard.operations.offline import issue_allowance, set_offline_limit
from youcard.policy import Counter, Staff

ROUNDS = 8


def _sender(sessions, counters, credential, keys):
    """Work for two threads: each counter sends its offline booking of the card; a booking
    not covered is recorded by its follow-up, as the request's owner (youcard.web) runs it."""
    turns = itertools.count()

    def send() -> str:
        counter, allowance_id = counters[next(turns)]
        try:
            with sessions.begin() as session:
                book_offline(
                    session,
                    by=counter,
                    credential=credential,
                    trusted=keys,
                    category="participation",
                    amount_cents=1000,
                    idempotency_key=f"offline-{counter.device_id}",
                    offline_at=NOW - timedelta(hours=2),
                    allowance_id=allowance_id,
                    now=NOW,
                )
        except NotCovered as refusal:
            record = refusal.follow_up
            with sessions.begin() as session:
                record(session)
            return str(refusal.details["reason"])
        return "booked"

    return send


def test_two_counters_sending_one_cards_offline_bookings_at_once(
    private_committed, private_database_url
):
    if not private_database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: nothing runs in parallel there")
    for _ in range(ROUNDS):
        with private_committed.begin() as session:
            make = Factory(session)
            issuer = make.issuer()
            child = make.child(issuer)
            entitlement = make.entitlement(child, rule=BudgetRule(RuleKind.TOTAL, 1500))
            card = make.card(child)
            partner = make.partner(issuer, {Category.PARTICIPATION})
            admin = Staff.of(make.staff(issuer, Role.ADMINISTRATOR))
            set_offline_limit(
                session, by=admin, category=Category.PARTICIPATION, cents=1000, now=NOW
            )
            counters = []
            for _ in range(2):
                device, _token = make.device(partner)
                counter = Counter(
                    partner.id,
                    partner.name,
                    frozenset({(issuer.id, Category.PARTICIPATION)}),
                    device_id=device.id,
                )
                allowance = issue_allowance(
                    session,
                    by=counter,
                    key=f"device:{device.id}",
                    secret=b"s",
                    now=NOW - timedelta(hours=3),
                )
                counters.append((counter, allowance.id))
            keys = trusted(session, issuer.id)
            credential, entitlement_id = card.credential, entitlement.id
        sending = _sender(private_committed, counters, credential, keys)
        assert sorted(at_once(2, sending)) == ["booked", "insufficient_budget"]
        with private_committed() as session:
            assert session.get(Entitlement, entitlement_id).spent_cents == 1000
            outcomes = session.scalars(
                select(OfflineBooking.outcome).where(
                    OfflineBooking.partner_id == counters[0][0].partner_id
                )
            ).all()
            assert sorted(outcomes) == ["booked", "not_covered"]
