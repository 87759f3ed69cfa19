"""Bookings per second of `book` on PostgreSQL, beside the same transaction in raw SQL.

Usage: .venv/bin/python bench/book.py [--seconds 5] [--children 2000]
       (YOUCARD_BENCH_POSTGRES_URL, default the local server; makes and drops its own database)

For 1, 4 and 16 threads each with its own connection, books random children's
entitlements for a fixed time, once through `youcard.operations.booking.book.book`
(SQLAlchemy ORM + Core) and once as the same statements in raw psycopg, and
prints both rates and their ratio. Ends with `ledger check` on everything booked.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import make_url

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.factories import NOW, Factory, trusted
from youcard import migrate
from youcard.db import make_engine, make_sessionmaker
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category, RuleKind
from youcard.operations.booking import book
from youcard.operations.booking.inputs import request_fingerprint
from youcard.reads import ledger
from youcard.reads.counter import partner_counter

ADMIN_URL = os.environ.get(
    "YOUCARD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def seed(url: str, children: int) -> tuple[int, list[tuple[bytes, int]]]:
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        make = Factory(session)
        issuer = make.issuer("DE-BENCH")
        partner = make.partner(issuer, {Category.TRIPS})
        cards = []
        for _ in range(children):
            child = make.child(issuer)
            e = make.entitlement(child, Category.TRIPS, rule=BudgetRule(RuleKind.TOTAL, 10**9))
            card = make.card(child)
            cards.append((card.serial, e.id, card.credential))
        partner_id = partner.id
    engine.dispose()
    return partner_id, cards


def run_threads(n: int, seconds: float, work) -> tuple[int, float]:
    stop = time.perf_counter() + seconds
    counts = [0] * n
    barrier = threading.Barrier(n + 1)

    def loop(i: int) -> None:
        step = work()
        barrier.wait()
        while time.perf_counter() < stop:
            step()
            counts[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - started


def orm_worker(sessions, partner_id, cards):
    with sessions() as session:
        keys = trusted(session)  # the API caches the trust list the same way
        counter = partner_counter(session, partner_id)

    def make_step():
        rng = random.Random()

        def step():
            _, _, credential = rng.choice(cards)
            with sessions.begin() as session:
                book(  # verifies the credential (Ed25519), as every booking must
                    session,
                    by=counter,
                    credential=credential,
                    trusted=keys,
                    category=Category.TRIPS,
                    amount_cents=rng.randint(1, 500),
                    idempotency_key=secrets.token_hex(12),
                    now=NOW,
                )

        return step

    return make_step


RAW = {
    "context": "SELECT c.id, c.issuer_id, c.status, c.valid_until, ch.birth_date, p.status,"
    " EXISTS (SELECT 1 FROM partner_permissions pp WHERE pp.partner_id = %(p)s"
    " AND pp.issuer_id = c.issuer_id AND pp.category = %(cat)s),"
    " b.request_hash, e.id, e.status, e.valid_from, e.valid_until, e.rule, e.accrual,"
    " e.amount_cents, e.units_total, e.units_per_day"
    " FROM cards c JOIN children ch ON ch.id = c.child_id"
    " LEFT JOIN partners p ON p.id = %(p)s"
    " LEFT JOIN bookings b ON b.partner_id = %(p)s AND b.idempotency_key = %(key)s"
    " LEFT JOIN entitlements e ON e.child_id = c.child_id AND e.category = %(cat)s"
    " WHERE c.serial = %(serial)s ORDER BY e.valid_from",
    "insert": "INSERT INTO bookings (issuer_id, partner_id, entitlement_id, card_id, kind,"
    " category, amount_cents, units, service_date, reference, idempotency_key, request_hash,"
    " created_at) VALUES (%s, %s, %s, %s, 'booking', %s, %s, 0, %s, NULL, %s, %s, %s)"
    " ON CONFLICT (partner_id, idempotency_key) DO NOTHING RETURNING id",
    "guard": "UPDATE entitlements SET spent_cents = spent_cents + %s, spent_units = spent_units"
    " WHERE id = %s AND status = 'approved' AND spent_cents + %s <= %s"
    " RETURNING spent_cents, spent_units",
    "audit": "INSERT INTO audit_events (issuer_id, occurred_at, actor, action, object_type,"
    " object_id, data) VALUES (%s, %s, %s, 'booking.create', 'booking', %s, %s)",
}


def raw_worker(url, partner_id, cards):
    """The statements `book` sends, in raw psycopg: one read, two writes, one audit row."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def make_step():
        conn = psycopg.connect(conninfo)
        rng = random.Random()

        def step():
            serial, _, _ = rng.choice(cards)
            key = secrets.token_hex(12)
            amount = rng.randint(1, 500)
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(
                    RAW["context"], {"p": partner_id, "cat": "trips", "key": key, "serial": serial}
                )
                row = cur.fetchone()
                card_id, issuer_id, entitlement_id = row[0], row[1], row[8]
                fp = request_fingerprint(
                    card_serial=serial,
                    category=Category.TRIPS,
                    amount_cents=amount,
                    units=None,
                    service_date=None,
                    reference=None,
                )
                now = datetime.now(UTC)
                cur.execute(
                    RAW["insert"],
                    (
                        issuer_id,
                        partner_id,
                        entitlement_id,
                        card_id,
                        "trips",
                        amount,
                        NOW.date(),
                        key,
                        fp,
                        now,
                    ),
                )
                booking_id = cur.fetchone()[0]
                cur.execute(RAW["guard"], (amount, entitlement_id, amount, 10**9))
                assert cur.fetchone() is not None
                cur.execute(
                    RAW["audit"], (issuer_id, now, f"partner:{partner_id}", str(booking_id), "{}")
                )

        return step

    return make_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument(
        "--no-pre-ping", dest="pre_ping", action="store_false", help="skip the pool's ping"
    )
    args = parser.parse_args()
    url = create_postgres_database(ADMIN_URL)
    try:
        migrate.upgrade(url)
        partner_id, cards = seed(url, args.children)
        engine = make_engine(url, pool_size=20, max_overflow=0, pool_pre_ping=args.pre_ping)
        sessions = make_sessionmaker(engine)
        print(
            f"book() vs raw SQL, PostgreSQL, {args.children} children, {args.seconds:.0f} s each,"
            f" pool pre-ping {'on' if args.pre_ping else 'off'}"
        )
        print(f"{'threads':>7} {'book()/s':>10} {'raw SQL/s':>10} {'ratio':>6}")
        for n in (1, 4, 16):
            done, took = run_threads(n, args.seconds, orm_worker(sessions, partner_id, cards))
            raw_done, raw_took = run_threads(n, args.seconds, raw_worker(url, partner_id, cards))
            orm_rate, raw_rate = done / took, raw_done / raw_took
            print(f"{n:>7} {orm_rate:>10.0f} {raw_rate:>10.0f} {orm_rate / raw_rate:>6.2f}")
        with sessions() as session:
            differences = ledger.check(session)
        print(f"ledger check: {'clean' if not differences else f'{len(differences)} differences'}")
        engine.dispose()
    finally:
        drop_postgres_database(ADMIN_URL, url)


if __name__ == "__main__":
    main()
