"""Monthly settlement on hand-checked examples, on SQLite and PostgreSQL: month borders in
Berlin, cancellations before and after finalizing, corrections carried into the next
run, several partners and issuers, a partner without bookings, and locks."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.factories import Factory, at_counter, trusted
from youcard.domain.budget import BudgetRule, RuleKind
from youcard.domain.enums import Category, SettlementStatus
from youcard.domain.models import (
    Booking,
    Card,
    Partner,
    Settlement,
    SettlementLine,
    SettlementPayment,
)
from youcard.operations.booking import book, cancel_booking
from youcard.operations.settlements import finalize, prepare
from youcard.policy import Staff

MARCH, APRIL, MAY = date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)
JUNE_2 = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)
BIG = BudgetRule(RuleKind.TOTAL, 1_000_000)
_keys = itertools.count()


@dataclass
class City:
    issuer_id: str
    card: Card
    p1: Partner  # sports club: participation and lunch
    p2: Partner  # music school: participation
    p3: Partner  # a partner that books nothing


def _city(make: Factory) -> City:
    issuer = make.issuer()
    child = make.child(issuer)
    make.entitlement(child, Category.PARTICIPATION, rule=BIG)
    make.entitlement(child, Category.LUNCH, rule=BIG)
    card = make.card(child)
    return City(
        issuer.id,
        card,
        make.partner(issuer, {Category.PARTICIPATION, Category.LUNCH}),
        make.partner(issuer, {Category.PARTICIPATION}),
        make.partner(issuer, {Category.PARTICIPATION}),
    )


def _book(session, city, partner, cents, at, category=Category.PARTICIPATION) -> int:
    return book(
        session,
        by=at_counter(partner.id),
        credential=city.card.credential,
        trusted=trusted(session),
        category=category,
        amount_cents=cents,
        idempotency_key=f"k{next(_keys)}",
        now=at,
    ).booking.id


def _cancel(session, partner, booking_id, at) -> None:
    cancel_booking(session, by=at_counter(partner.id), booking_id=booking_id, now=at)


def _at(day: int, month: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _lines(session, run) -> dict[tuple[int, str], tuple[int, int, int, int, int]]:
    return {
        (line.partner_id, line.category.value): (
            line.bookings,
            line.booked_cents,
            line.cancellations,
            line.cancelled_cents,
            line.net_cents,
        )
        for line in session.scalars(
            select(SettlementLine).where(SettlementLine.settlement_id == run.id)
        )
    }


def _payments(session, run) -> dict[int, tuple[int, int, int, int]]:
    return {
        p.partner_id: (p.net_cents, p.carried_in_cents, p.amount_cents, p.carried_out_cents)
        for p in session.scalars(
            select(SettlementPayment).where(SettlementPayment.settlement_id == run.id)
        )
    }


@pytest.fixture
def march(session, make):
    """March 2026 of one city, checked by hand:

    p1: participation 15,00 and 10,00; lunch 3,50 twice
    p2: participation 20,00 (cancelled in March) and 12,00
    a booking at 23:30 on 31 March in Berlin is March's; one at 00:30 on 1 April is April's.
    """
    city = _city(make)
    ids = {
        "p1_15": _book(session, city, city.p1, 1500, _at(2, 3)),
        "p1_10": _book(session, city, city.p1, 1000, _at(31, 3, 21, 30)),  # 23:30 in Berlin
        "p1_lunch_a": _book(session, city, city.p1, 350, _at(3, 3), Category.LUNCH),
        "p1_lunch_b": _book(session, city, city.p1, 350, _at(4, 3), Category.LUNCH),
        "p2_20": _book(session, city, city.p2, 2000, _at(5, 3)),
        "p2_12": _book(session, city, city.p2, 1200, _at(6, 3)),
        "p1_april": _book(session, city, city.p1, 500, _at(31, 3, 22, 30)),  # 00:30, 1 April
    }
    _cancel(session, city.p2, ids["p2_20"], _at(7, 3))
    return city, ids


def test_a_month_sums_bookings_minus_cancellations_per_partner_and_category(session, march):
    city, _ = march
    run = prepare(session, by=Staff.system(city.issuer_id, "admin"), month=MARCH, now=JUNE_2)
    assert run.status is SettlementStatus.DRAFT
    assert _lines(session, run) == {
        (city.p1.id, "participation"): (2, 2500, 0, 0, 2500),
        (city.p1.id, "lunch"): (2, 700, 0, 0, 700),
        (city.p2.id, "participation"): (2, 3200, 1, 2000, 1200),
    }
    assert _payments(session, run) == {
        city.p1.id: (3200, 0, 3200, 0),
        city.p2.id: (1200, 0, 1200, 0),
    }
    assert city.p3.id not in _payments(session, run)  # nothing booked, nothing paid
    assert (run.net_cents, run.total_cents, run.bookings_count) == (4400, 4400, 7)


def test_a_draft_recomputed_gives_the_same_numbers(session, march):
    city, _ = march
    first = prepare(session, by=Staff.system(city.issuer_id, "admin"), month=MARCH, now=JUNE_2)
    before = (_lines(session, first), _payments(session, first), first.net_cents)
    again = prepare(session, by=Staff.system(city.issuer_id, "admin"), month=MARCH, now=JUNE_2)
    assert again.id == first.id
    assert (_lines(session, again), _payments(session, again), again.net_cents) == before


def test_finalizing_locks_the_bookings_and_twice_is_harmless(session, march):
    city, ids = march
    run = prepare(session, by=Staff.system(city.issuer_id, "admin"), month=MARCH, now=JUNE_2)
    finalize(
        session, settlement_id=run.id, by=Staff.system(city.issuer_id, "admin"), now=JUNE_2,
        expected_net_cents=4400,)  # fmt: skip
    assert run.status is SettlementStatus.FINALIZED and run.finalized_by == "admin"
    settled = set(session.scalars(select(Booking.id).where(Booking.settlement_id == run.id)))
    assert ids["p1_april"] not in settled and ids["p1_15"] in settled and len(settled) == 7
    again = finalize(
        session, settlement_id=run.id, by=Staff.system(city.issuer_id, "other"), now=JUNE_2
    )
    assert again.finalized_by == "admin" and again.net_cents == 4400
    assert prepare(session, by=Staff.system(city.issuer_id, "x"), month=MARCH, now=JUNE_2) is run


def test_a_cancellation_after_finalizing_is_a_correction_in_the_next_run(session, march):
    city, ids = march
    run = prepare(session, by=Staff.system(city.issuer_id, "admin"), month=MARCH, now=JUNE_2)
    finalize(session, settlement_id=run.id, by=Staff.system(city.issuer_id, "a"), now=JUNE_2)
    _cancel(session, city.p1, ids["p1_15"], _at(10, 4))  # March's 15,00, cancelled in April
    april = prepare(session, by=Staff.system(city.issuer_id, "a"), month=APRIL, now=JUNE_2)
    assert _lines(session, april) == {(city.p1.id, "participation"): (1, 500, 1, 1500, -1000)}
    # p1 is owed nothing in April: the 10,00 it owes is carried into its next run
    assert _payments(session, april) == {city.p1.id: (-1000, 0, 0, -1000)}
    assert (april.net_cents, april.total_cents) == (-1000, 0)
    assert _lines(session, run)[(city.p1.id, "participation")] == (2, 2500, 0, 0, 2500)
    finalize(session, settlement_id=april.id, by=Staff.system(city.issuer_id, "a"), now=JUNE_2)
    _book(session, city, city.p1, 3000, _at(12, 5))
    may = prepare(session, by=Staff.system(city.issuer_id, "a"), month=MAY, now=JUNE_2)
    assert _payments(session, may) == {city.p1.id: (3000, -1000, 2000, 0)}
    assert may.total_cents == 2000


def test_another_issuers_bookings_are_never_in_the_run(session, make, march):
    city, _ = march
    other = _city(make)
    _book(session, other, other.p1, 9900, _at(9, 3))
    run = prepare(session, by=Staff.system(city.issuer_id, "a"), month=MARCH, now=JUNE_2)
    theirs = prepare(session, by=Staff.system(other.issuer_id, "a"), month=MARCH, now=JUNE_2)
    assert run.net_cents == 4400 and theirs.net_cents == 9900
    assert set(_payments(session, theirs)) == {other.p1.id}


def test_bookings_that_arrive_after_review_stop_the_finalizing(session, march, refused):
    city, _ = march
    run = prepare(session, by=Staff.system(city.issuer_id, "a"), month=MARCH, now=JUNE_2)
    _book(session, city, city.p2, 800, _at(30, 3))  # e.g. a late offline booking
    error = refused(
        finalize, settlement_id=run.id, by=Staff.system(city.issuer_id, "a"), now=JUNE_2,
        expected_net_cents=4400,
    )  # fmt: skip
    assert error.code == "changed_since_review" and error.details["net_cents"] == 5200
    session.expire_all()
    assert session.get(Settlement, run.id).status is SettlementStatus.DRAFT
    assert session.scalar(select(Booking.id).where(Booking.settlement_id == run.id)) is None


@pytest.mark.parametrize(
    ("month", "now", "code"),
    [
        (date(2026, 6, 1), JUNE_2, "month_not_ended"),
        (date(2026, 3, 15), JUNE_2, "invalid_month"),
    ],
)
def test_only_an_ended_month_is_settled(session, march, refused, month, now, code):
    city, _ = march
    error = refused(prepare, by=Staff.system(city.issuer_id, "a"), month=month, now=now)
    assert error.code == code


def test_months_are_finalized_in_order(session, march, refused):
    city, _ = march
    prepare(session, by=Staff.system(city.issuer_id, "a"), month=MARCH, now=JUNE_2)
    error = refused(prepare, by=Staff.system(city.issuer_id, "a"), month=APRIL, now=JUNE_2)
    assert error.code == "earlier_month_open"


def test_another_issuer_cannot_finalize_the_run(session, make, march, refused):
    city, _ = march
    run = prepare(session, by=Staff.system(city.issuer_id, "a"), month=MARCH, now=JUNE_2)
    other = make.issuer()
    error = refused(finalize, settlement_id=run.id, by=Staff.system(other.id, "a"), now=JUNE_2)
    assert error.code == "settlement_not_found"


def test_the_database_refuses_to_change_settled_money(session, march):
    city, ids = march
    run = prepare(session, by=Staff.system(city.issuer_id, "a"), month=MARCH, now=JUNE_2)
    finalize(session, settlement_id=run.id, by=Staff.system(city.issuer_id, "a"), now=JUNE_2)
    session.flush()
    for statement in (
        update(Booking).where(Booking.id == ids["p1_15"]).values(amount_cents=1),
        update(Settlement).where(Settlement.id == run.id).values(total_cents=1),
        update(SettlementPayment)
        .where(SettlementPayment.settlement_id == run.id)
        .values(amount_cents=1),
        text("DELETE FROM bookings WHERE id = :id").bindparams(id=ids["p1_april"]),
    ):
        savepoint = session.begin_nested()
        with pytest.raises((IntegrityError, DBAPIError)):
            session.execute(statement)
        savepoint.rollback()
    session.expire_all()
    assert session.get(Booking, ids["p1_15"]).amount_cents == 1500
    assert session.get(Settlement, run.id).total_cents == 4400
