"""Finalizing a month while partners keep booking into it, with real parallel clients:
every booking is settled exactly once, in the run or in the next one; no money is lost."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from tests.factories import Factory, at_counter, trusted
from youcard.db import make_engine, make_sessionmaker
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category, RuleKind, SettlementStatus
from youcard.domain.models import Booking, SettlementLine
from youcard.operations.booking import book
from youcard.operations.settlements import finalize, prepare
from youcard.policy import Staff

CLIENTS = 8
MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)
IN_MARCH = datetime(2026, 3, 20, 10, tzinfo=UTC)
LATER = datetime(2026, 6, 2, 8, tzinfo=UTC)
_keys = itertools.count()


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url, pool_size=CLIENTS + 4, max_overflow=0)
    yield make_sessionmaker(engine)
    engine.dispose()


def _count(sessions, issuer_id: str) -> int:
    """The issuer's bookings (the test database holds other tests' too)."""
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Booking).where(Booking.issuer_id == issuer_id)
            )
            or 0
        )


def _wait_for_bookings(sessions, issuer_id: str, at_least: int) -> None:
    deadline = time.monotonic() + 60
    while _count(sessions, issuer_id) < at_least:
        assert time.monotonic() < deadline, "the clients stopped booking"
        time.sleep(0.01)


def test_bookings_made_while_the_month_is_finalized_are_settled_exactly_once(sessions):
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        partner = make.partner(issuer, {Category.PARTICIPATION})
        cards = []
        for _ in range(CLIENTS):
            child = make.child(issuer)
            make.entitlement(
                child, Category.PARTICIPATION, rule=BudgetRule(RuleKind.TOTAL, 10_000_000)
            )
            cards.append(make.card(child).credential)
        issuer_id, partner_id = issuer.id, partner.id
        keys = trusted(session, issuer.id)
    stop = threading.Event()
    errors: list[BaseException] = []

    def client(credential: str) -> None:
        try:
            while not stop.is_set():
                with sessions.begin() as session:
                    book(
                        session, by=at_counter(partner_id), credential=credential, trusted=keys,
                        category=Category.PARTICIPATION, amount_cents=100,
                        idempotency_key=f"c{next(_keys)}", now=IN_MARCH,
                    )  # fmt: skip
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=client, args=(s,)) for s in cards]
    for thread in threads:
        thread.start()
    try:
        _wait_for_bookings(sessions, issuer_id, CLIENTS * 5)
        with sessions.begin() as session:
            run_id = prepare(session, by=Staff.system(issuer_id, "a"), month=MARCH, now=LATER).id
        with sessions.begin() as session:  # no expected net: bookings keep coming meanwhile
            finalize(session, settlement_id=run_id, by=Staff.system(issuer_id, "a"), now=LATER)
        _wait_for_bookings(
            sessions, issuer_id, _count(sessions, issuer_id) + CLIENTS * 2
        )  # and they go on booking
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    with sessions.begin() as session:
        april = prepare(session, by=Staff.system(issuer_id, "a"), month=APRIL, now=LATER)
        total = session.scalar(
            select(func.count()).select_from(Booking).where(Booking.issuer_id == issuer_id)
        )
        settled = session.scalar(
            select(func.count()).select_from(Booking).where(Booking.settlement_id == run_id)
        )
        march_lines = session.scalar(
            select(func.sum(SettlementLine.net_cents)).where(SettlementLine.settlement_id == run_id)
        )
        assert settled > 0 and march_lines == settled * 100  # the run is its locked rows
        # what the finalized run did not take waits for April's run: nothing is lost
        assert march_lines + april.net_cents == total * 100
        assert april.status is SettlementStatus.DRAFT and april.net_cents > 0
