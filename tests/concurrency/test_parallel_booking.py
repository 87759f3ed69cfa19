"""Real parallel clients, each with its own connection, against one entitlement.

On PostgreSQL this is the proof of the rules that never bend: no overspend, no
lost update, no double booking. On SQLite the same runs to show that a busy
database waits (BEGIN IMMEDIATE + busy timeout) instead of failing.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, Factory, at_counter, trusted
from youcard.db import make_engine, make_sessionmaker
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category, RuleKind
from youcard.domain.models import Booking, Entitlement
from youcard.errors import DomainError
from youcard.operations.booking import book, cancel_booking
from youcard.policy import Staff
from youcard.reads import ledger

THREADS = 32
_keys = itertools.count()


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url, pool_size=THREADS + 4, max_overflow=0)
    yield make_sessionmaker(engine)
    engine.dispose()


def _scene(sessions, category=Category.TRIPS, rule=None):
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        child = make.child(issuer)
        entitlement = make.entitlement(child, category, rule=rule)
        card = make.card(child)
        partner = make.partner(issuer, {category})
        return {
            "partner_id": partner.id,
            "issuer_id": issuer.id,
            "credential": card.credential,
            "trusted": trusted(session, issuer.id),
            "category": category,
            "entitlement_id": entitlement.id,
        }


def _parallel(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in n threads that start together; return results or exceptions."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on by the test
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def _spent(sessions, entitlement_id):
    with sessions() as session:
        e = session.get(Entitlement, entitlement_id)
        return e.spent_cents, e.spent_units


def _attempt(sessions, scene, **kw):
    try:
        with sessions.begin() as session:
            return book(
                session,
                by=at_counter(scene["partner_id"]),
                credential=scene["credential"],
                trusted=scene["trusted"],
                category=scene["category"],
                now=NOW,
                **kw,
            )
    except DomainError as error:
        return error.code


@pytest.mark.parametrize("round_", range(4))
def test_parallel_bookings_never_overspend_and_lose_nothing(sessions, round_):
    total, amount, attempts = 10_000, 100, 5  # 160 attempts for 100 possible bookings
    scene = _scene(sessions, rule=BudgetRule(RuleKind.TOTAL, total))

    def work(i):
        return [
            _attempt(
                sessions,
                scene,
                amount_cents=amount,
                idempotency_key=f"r{round_}-{i}-{a}-{next(_keys)}",
            )
            for a in range(attempts)
        ]

    outcomes = [o for per_thread in _parallel(THREADS, work) for o in per_thread]
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == []
    codes = Counter(o if isinstance(o, str) else "booked" for o in outcomes)
    assert codes == {
        "booked": total // amount,
        "insufficient_budget": THREADS * attempts - total // amount,
    }
    assert _spent(sessions, scene["entitlement_id"]) == (total, 0)
    with sessions() as session:
        assert ledger.check(session, scene["issuer_id"]) == []


def test_parallel_random_amounts_sum_exactly(sessions):
    import random

    total = 20_000
    scene = _scene(sessions, rule=BudgetRule(RuleKind.TOTAL, total))
    rng = random.Random(7)
    amounts = [[rng.randint(1, 900) for _ in range(6)] for _ in range(THREADS)]

    def work(i):
        return [
            (
                a,
                _attempt(
                    sessions, scene, amount_cents=a, idempotency_key=f"rand-{i}-{j}-{next(_keys)}"
                ),
            )
            for j, a in enumerate(amounts[i])
        ]

    results = [r for per_thread in _parallel(THREADS, work) for r in per_thread]
    assert not [r for _, r in results if isinstance(r, Exception)]
    booked = sum(a for a, r in results if not isinstance(r, str))
    assert booked <= total
    assert _spent(sessions, scene["entitlement_id"]) == (booked, 0)
    refused = [a for a, r in results if r == "insufficient_budget"]
    # Every refusal was right when it was made: the final rest is smaller than the smallest refused.
    if refused:
        assert total - booked < max(refused)


def test_replaying_one_key_in_parallel_books_once(sessions):
    scene = _scene(sessions, rule=BudgetRule(RuleKind.TOTAL, 50_000))
    key = f"same-{next(_keys)}"
    results = _parallel(
        THREADS, lambda i: _attempt(sessions, scene, amount_cents=700, idempotency_key=key)
    )
    assert not [r for r in results if isinstance(r, (Exception, str))]
    assert len({r.booking.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert _spent(sessions, scene["entitlement_id"]) == (700, 0)
    with sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Booking)
                .where(Booking.entitlement_id == scene["entitlement_id"])
            )
            == 1
        )


def test_cancelling_in_parallel_gives_back_once(sessions):
    scene = _scene(sessions, rule=BudgetRule(RuleKind.TOTAL, 50_000))
    booked = _attempt(sessions, scene, amount_cents=5000, idempotency_key=f"c-{next(_keys)}")

    def work(i):
        with sessions.begin() as session:
            return cancel_booking(
                session, by=at_counter(scene["partner_id"]), booking_id=booked.booking.id, now=NOW
            )

    results = _parallel(THREADS, work)
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(not r.already_cancelled for r in results) == 1
    assert _spent(sessions, scene["entitlement_id"]) == (0, 0)
    with sessions() as session:
        assert ledger.check(session, scene["issuer_id"]) == []


def test_one_lunch_per_day_in_parallel(sessions):
    scene = _scene(sessions, category=Category.LUNCH)
    results = _parallel(
        THREADS,
        lambda i: _attempt(
            sessions, scene, amount_cents=400, units=1, idempotency_key=f"l-{i}-{next(_keys)}"
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert Counter(r if isinstance(r, str) else "booked" for r in results) == {
        "booked": 1,
        "daily_limit_reached": THREADS - 1,
    }
    assert _spent(sessions, scene["entitlement_id"]) == (400, 1)


def test_parallel_revocations_get_gapless_numbers_in_commit_order(sessions):
    from tests.factories import KEK
    from youcard.operations.cards import issue_card, revoke_card
    from youcard.operations.verification import revocations_since

    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        card_ids = []
        for _ in range(THREADS // 2):
            child = make.child(issuer)
            make.entitlement(child)
            card_ids.append(
                issue_card(
                    session, child_id=child.id, by=Staff.system(issuer.id, "t"), now=NOW, kek=KEK
                ).id
            )
        issuer_id = issuer.id
    with sessions() as session:
        start = max((r.seq for r in revocations_since(session, since=0, limit=10**6)), default=0)

    def work(i):
        with sessions.begin() as session:
            return revoke_card(
                session,
                card_id=card_ids[i],
                by=Staff.system(issuer_id, "t"),
                reason="verloren",
                now=NOW,
            ).id

    results = _parallel(len(card_ids), work)
    assert not [r for r in results if isinstance(r, Exception)]
    with sessions() as session:
        seen = revocations_since(session, since=start, limit=10**6)
        assert [r.seq for r in seen] == list(range(start + 1, start + 1 + len(card_ids)))
        assert {r.card_id for r in seen} == set(card_ids)
