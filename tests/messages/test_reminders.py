"""#29: reminders of money expiring or unused, queued by the `reminders` job once per
benefit and occasion (however often it runs), and never to a family that stopped them;
the family switches them on its own page."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tests.factories import NOW, Factory
from youcard.domain.enums import Category
from youcard.domain.models import Household, OutboxMessage
from youcard.messages.events import card_blocked
from youcard.messages.reminders import queue_reminders
from youcard.policy import Family


def _benefit(sessions, period, category=Category.PARTICIPATION, spent=0, email="f@example.org"):
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        household = make.household(issuer)
        household.email = email
        child = make.child(issuer, household=household)
        e = make.entitlement(child, category, period=period)
        e.spent_cents = spent
        return {"household": household.id, "issuer": issuer.id, "card": make.card(child).id}


def _events(sessions):
    with sessions() as session:
        return session.execute(
            select(OutboxMessage.event, OutboxMessage.facts).order_by(OutboxMessage.id)
        ).all()


def test_money_expiring_within_30_days_is_told_once(private_committed):
    _benefit(private_committed, (date(2025, 4, 1), date(2026, 4, 5)), spent=100)  # 20 days
    _benefit(private_committed, (date(2025, 6, 1), date(2026, 5, 31)), spent=1500)  # 76 days
    assert queue_reminders(private_committed, lambda: NOW) == 1
    assert queue_reminders(private_committed, lambda: NOW + timedelta(days=1)) == 0  # once
    ((event, facts),) = _events(private_committed)
    assert event == "money_expiring" and '"until": "05.04.2026"' in facts


def test_participation_unused_for_three_months_is_told_once_and_a_used_one_never(
    private_committed,
):
    _benefit(private_committed, (date(2025, 12, 1), date(2026, 11, 30)))  # 105 days, unused
    _benefit(private_committed, (date(2025, 12, 1), date(2026, 11, 30)), spent=500)  # used
    _benefit(private_committed, (date(2026, 1, 1), date(2026, 12, 31)))  # 74 days only
    assert queue_reminders(private_committed, lambda: NOW) == 1
    assert queue_reminders(private_committed, lambda: NOW) == 0
    ((event, facts),) = _events(private_committed)
    assert event == "money_unused" and '"left_cents": 6000' in facts  # Dec-Mar accrued


def test_a_family_that_stopped_reminders_gets_none_but_still_hears_of_its_card(
    private_committed,
):
    from youcard.domain.models import Card
    from youcard.operations.family import set_reminders

    world = _benefit(private_committed, (date(2025, 4, 1), date(2026, 4, 5)), spent=100)
    with private_committed.begin() as session:
        set_reminders(session, by=Family(world["household"], world["issuer"]), on=False, now=NOW)
    assert queue_reminders(private_committed, lambda: NOW) == 0
    with private_committed.begin() as session:
        assert card_blocked(session, session.get(Card, world["card"]), NOW) == 1
    with private_committed.begin() as session:
        set_reminders(session, by=Family(world["household"], world["issuer"]), on=True, now=NOW)
        assert session.get(Household, world["household"]).reminders_off_at is None
    assert queue_reminders(private_committed, lambda: NOW) == 1
    assert [event for event, _ in _events(private_committed)] == [
        "card_blocked",
        "money_expiring",
    ]
