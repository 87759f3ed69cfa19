"""Mandates: made only by showing the card, with every refusal of a booking and a 409 for a
second one; monthly instalments booked once a month on their day (the 31st is February's
last), refusals recorded on the mandate, a lost card ends nothing; ended by the partner, the
family or the city's staff, never by anyone else; four runners book each instalment once."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, Factory, at_once, trusted
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import BookingKind, CardStatus, Category, Role, RuleKind
from youcard.domain.models import Booking, Mandate
from youcard.operations.instalments import book_due_instalments
from youcard.operations.mandates import (
    MandateTerms,
    child_mandates,
    create_mandate,
    end_mandate,
    instalment_day,
    partner_mandates,
)
from youcard.policy import Counter, Family, Staff
from youcard.reads import ledger

CLUB = MandateTerms(category="participation", reference="M-4711", monthly_amount_cents=1_000,
                    day_of_month=20)  # fmt: skip


def _counter(partner):
    return Counter(partner.id, partner.name, frozenset(), device_id=None)


@pytest.fixture
def club(session, make):
    issuer = make.issuer()
    child = make.child(issuer)
    make.entitlement(child, Category.PARTICIPATION)  # 15 € a month, 2026
    card = make.card(child)
    partner = make.partner(issuer, {Category.PARTICIPATION, Category.LUNCH})
    session.flush()
    return {"issuer": issuer, "child": child, "card": card, "partner": partner,
            "by": _counter(partner), "keys": trusted(session, issuer.id)}  # fmt: skip


def _create(session, club, terms=CLUB, credential=None, by=None):
    return create_mandate(
        session, by=by or club["by"], credential=credential or club["card"].credential,
        trusted=club["keys"], terms=terms, now=NOW,
    )  # fmt: skip


def _run(session, when, partner):
    """The job on the test's session (its transactions become savepoints); how many of
    `partner`'s instalments it booked (the database holds other tests' mandates too)."""

    class Sessions:
        @contextmanager
        def begin(self):
            with session.begin_nested():
                yield session

    mine = select(func.count()).select_from(Booking).where(Booking.partner_id == partner.id)
    before = session.scalar(mine)
    book_due_instalments(Sessions(), lambda: when)  # type: ignore[arg-type]
    return session.scalar(mine) - before


def test_a_mandate_is_made_by_showing_the_card_and_books_once_a_month(session, club):
    mandate = _create(session, club)
    assert (mandate.status, mandate.next_due, mandate.created_by) == (
        "active", date(2026, 3, 20), f"partner:{club['partner'].id}"
    )  # fmt: skip
    assert _run(session, NOW, club["partner"]) == 0  # 16 March: nothing due yet
    on_the_day = NOW + timedelta(days=4)
    assert _run(session, on_the_day, club["partner"]) == 1
    assert _run(session, on_the_day, club["partner"]) == 0  # the job again: nothing twice
    booking = session.scalars(select(Booking).where(Booking.id == mandate.last_booking_id)).one()
    assert (booking.amount_cents, booking.service_date, booking.reference) == (
        1_000, date(2026, 3, 20), "M-4711"
    )  # fmt: skip
    assert booking.idempotency_key == f"mandate:{mandate.id}:2026-03"
    assert (mandate.last_month, mandate.last_result, mandate.next_due) == (
        "2026-03", "booked", date(2026, 4, 20)
    )  # fmt: skip
    club["card"].status = CardStatus.REVOKED  # lost: the mandate goes on
    assert _run(session, NOW + timedelta(days=40), club["partner"]) == 1  # 25 April
    # May 20 and June 20 after a pause of the jobs: each month once, in turn
    assert _run(session, NOW + timedelta(days=100), club["partner"]) == 2
    assert mandate.next_due == date(2026, 7, 20)
    # 10 € a month against 15 € accruing: in July the budget still holds; a bigger fee not
    mandate.monthly_amount_cents = 9_000
    assert _run(session, NOW + timedelta(days=130), club["partner"]) == 0
    assert (mandate.last_month, mandate.last_result) == ("2026-07", "insufficient_budget")
    assert ledger.check(session, club["issuer"].id) == []


def test_instalment_days_beyond_a_months_end_fall_on_its_last_day():
    assert instalment_day(date(2026, 2, 1), 31) == date(2026, 2, 28)
    assert instalment_day(date(2028, 2, 10), 30) == date(2028, 2, 29)
    assert instalment_day(date(2026, 4, 1), 31) == date(2026, 4, 30)
    assert instalment_day(date(2026, 1, 1), 31) == date(2026, 1, 31)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"category": "trips"}, "category_not_permitted"),
        ({"category": "lunch"}, "instalment_not_for_units"),
        ({"category": "nope"}, "invalid_category"),
        ({"reference": ""}, "invalid_reference"),
        ({"reference": "x" * 141}, "invalid_reference"),
        ({"reference": "a\x00b"}, "invalid_reference"),
        ({"monthly_amount_cents": 0}, "invalid_amount"),
        ({"monthly_amount_cents": 100_001}, "invalid_amount"),
        ({"monthly_amount_cents": 10.5}, "invalid_amount"),
        ({"monthly_amount_cents": True}, "invalid_amount"),
        ({"day_of_month": 32}, "invalid_day"),
        ({"day_of_month": 0}, "invalid_day"),
        ({"valid_from": date(2026, 2, 28)}, "invalid_period"),
        ({"valid_from": date(2026, 4, 1), "valid_until": date(2026, 3, 31)}, "invalid_period"),
        ({"valid_until": date(2040, 1, 1)}, "invalid_period"),
    ],
)
def test_bad_terms_are_refused_and_write_nothing(session, club, refused, change, code):
    terms = MandateTerms(**{**CLUB.__dict__, **change})
    error = refused(
        create_mandate, by=club["by"], credential=club["card"].credential, trusted=club["keys"],
        terms=terms, now=NOW,
    )  # fmt: skip
    assert error.code == code


def test_no_mandate_without_a_valid_card_a_benefit_or_twice(session, make, club, refused):
    def attempt(**kw):
        args = {"by": club["by"], "credential": club["card"].credential, "trusted": club["keys"],
                "terms": CLUB, "now": NOW, **kw}  # fmt: skip
        return refused(create_mandate, **args).code

    assert attempt(credential="YC1:garbage") == "credential_invalid"
    assert attempt(credential=None) == "credential_invalid"
    _create(session, club)
    assert attempt() == "mandate_exists"  # the same child, category and reference
    assert _create(session, club, MandateTerms(**{**CLUB.__dict__, "reference": "M-2"})).id
    blocked = make.card(club["child"], status=CardStatus.REVOKED)
    assert attempt(credential=blocked.credential) == "credential_invalid"
    other = make.child(club["issuer"])
    assert attempt(credential=make.card(other).credential) == "no_entitlement"


def test_who_may_end_a_mandate_and_who_sees_it(session, make, club, refused):
    mandate = _create(session, club)
    stranger = _counter(make.partner(club["issuer"], {Category.PARTICIPATION}))
    assert refused(end_mandate, by=stranger, mandate_id=mandate.id, now=NOW).code == (
        "mandate_not_found"
    )
    other_city = Staff.of(make.staff(make.issuer(), Role.CASEWORKER))
    assert refused(end_mandate, by=other_city, mandate_id=mandate.id, now=NOW).code == (
        "mandate_not_found"
    )
    other_family = Family(household_id=make.household(club["issuer"]).id,
                          issuer_id=club["issuer"].id)  # fmt: skip
    assert refused(end_mandate, by=other_family, mandate_id=mandate.id, now=NOW).code == (
        "mandate_not_found"
    )
    family = Family(household_id=club["child"].household_id, issuer_id=club["issuer"].id)
    assert [m.id for m in child_mandates(session, by=family, child_id=club["child"].id)] == [
        mandate.id
    ]
    page = partner_mandates(session, by=club["by"], limit=10)
    assert [m.id for m in page.mandates] == [mandate.id]
    assert page.given_names == {club["child"].id: club["child"].given_name}
    assert partner_mandates(session, by=stranger, limit=10).mandates == []
    end_mandate(session, by=family, mandate_id=mandate.id, now=NOW)
    assert (mandate.status, mandate.ended_by, mandate.next_due) == (
        "ended", family.actor, None
    )  # fmt: skip
    assert end_mandate(session, by=club["by"], mandate_id=mandate.id, now=NOW).ended_by == (
        family.actor  # ending twice changes nothing
    )
    assert _run(session, NOW + timedelta(days=10), club["partner"]) == 0
    again = _create(session, club)  # ended: the same reference may start again
    staff = Staff.of(make.staff(club["issuer"], Role.CASEWORKER))
    assert end_mandate(session, by=staff, mandate_id=again.id, now=NOW).status == "ended"


def test_four_runners_at_once_book_every_instalment_once(private_committed):
    sessions = private_committed
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        partner = make.partner(issuer, {Category.PARTICIPATION})
        make.signing_key(issuer)
        session.flush()
        keys = trusted(session, issuer.id)
        by = _counter(partner)
        for n in range(60):
            child = make.child(issuer)
            make.entitlement(child, Category.PARTICIPATION,
                             rule=BudgetRule(RuleKind.TOTAL, 50_000))  # fmt: skip
            card = make.card(child)
            session.flush()
            create_mandate(
                session, by=by, credential=card.credential, trusted=keys, now=NOW,
                terms=MandateTerms("participation", f"M-{n}", 1_000, 1 + n % 28),
            )  # fmt: skip
        issuer_id = issuer.id
    later = NOW + timedelta(days=50)  # 5 May: March, April and May are due for most
    counts = at_once(4, lambda: book_due_instalments(sessions, lambda: later))
    with sessions() as session:
        made = session.execute(
            select(Booking.idempotency_key, func.count())
            .where(Booking.issuer_id == issuer_id, Booking.kind == BookingKind.BOOKING)
            .group_by(Booking.idempotency_key)
        ).all()
        assert made and {n for _key, n in made} == {1}
        assert sum(counts) == len(made)
        due = session.scalar(
            select(func.count())
            .select_from(Mandate)
            .where(Mandate.issuer_id == issuer_id, Mandate.next_due <= date(2026, 5, 5))
        )
        assert due == 0
        assert ledger.check(session, issuer_id) == []
