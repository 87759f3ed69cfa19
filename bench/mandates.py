"""Monthly instalments on PostgreSQL: N mandates (one per child, participation) due in one
month, booked by `book_due_instalments` — once by one runner, then the same month again
(must book nothing, and take less); then R runners started at once (`youcard jobs run
--workers R`) over as many fresh mandates (each instalment booked once). Beside it, a
baseline in the same run: a tenth as many bookings through the booking function alone, in
transactions of the job's size (the ledger's own speed).

Usage: .venv/bin/python bench/mandates.py [--mandates 100000] [--runners 4]
DESIGN.md's target: 100,000 instalments under 60 s, each booked once however often the job
runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.redeem import ADMIN_URL  # noqa: E402
from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.factories import Factory  # noqa: E402
from youcard import ledger, migrate  # noqa: E402
from youcard.db import make_engine, make_sessionmaker  # noqa: E402
from youcard.enums import Category  # noqa: E402
from youcard.operations.booking_write import BookingWrite, write_booking  # noqa: E402
from youcard.operations.mandates import (  # noqa: E402
    INSTALMENTS_PER_TRANSACTION,
    book_due_instalments,
)

DUE = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # the last day of March: every day is due


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(url: str, mandates: int, reference: str) -> str:
    """Children, approved participation, a card each and a mandate each (SQL: seconds)."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        key = make.signing_key(issuer)
        partner = make.partner(issuer, {Category.PARTICIPATION})
        approver = make.staff(issuer)
        household = make.household(issuer)
        session.flush()
        params = {"i": issuer.id, "k": key.id, "p": partner.id, "n": mandates,
                  "h": household.id, "s": approver.id, "r": reference}  # fmt: skip
        steps = [
            "INSERT INTO children (issuer_id, household_id, given_name, family_name, "
            "birth_date, created_at, search_key) SELECT CAST(:i AS varchar), :h, 'Kind' || g, "
            "'Muster', date '2014-05-17', now(), '' FROM generate_series(1, :n) g",
            "INSERT INTO entitlements (issuer_id, child_id, category, status, valid_from, "
            "valid_until, rule, accrual, amount_cents, cap_cents, spent_cents, spent_units, "
            "recorded_by_id, recorded_at) SELECT CAST(:i AS varchar), id, 'participation', "
            "'approved', date '2026-01-01', date '2026-12-31', 'monthly', 'accrue', 1500, "
            "18000, 0, 0, :s, now() FROM children WHERE issuer_id = :i",
            "INSERT INTO cards (issuer_id, child_id, serial, version, status, valid_from, "
            "valid_until, issued_at, categories, signing_key_id) SELECT CAST(:i AS varchar), "
            "id, decode(md5(id::text), 'hex'), 1, 'active', date '2026-01-01', "
            "date '2026-12-31', now(), 1, :k FROM children WHERE issuer_id = :i",
            "INSERT INTO mandates (issuer_id, partner_id, child_id, card_id, category, "
            "reference, monthly_amount_cents, day_of_month, valid_from, status, next_due, "
            "created_at, created_by) SELECT CAST(:i AS varchar), :p, c.child_id, c.id, "
            "'participation', CAST(:r AS varchar) || c.id, 1000, 1 + c.id % 28, "
            "date '2026-03-01', 'active', date '2026-03-01' + (c.id % 28)::int, now(), "
            "'partner:' || CAST(:p AS text) FROM cards c WHERE c.issuer_id = :i",
            "ANALYZE",
        ]
        for step in steps:
            session.execute(text(step), params)
        issuer_id = issuer.id
    engine.dispose()
    return issuer_id


def baseline(sessions: object, issuer_id: str, count: int) -> float:
    """Bookings per second of the booking function alone (no checks, no context read), in
    transactions of as many bookings as the job's."""
    with sessions() as session:  # type: ignore[operator]
        rows = session.execute(
            text(
                "SELECT m.partner_id, e.id, m.card_id FROM mandates m JOIN entitlements e "
                "ON e.child_id = m.child_id WHERE m.issuer_id = :i ORDER BY m.id LIMIT :n"
            ),
            {"i": issuer_id, "n": count},
        ).all()
    start = time.perf_counter()
    for chunk in range(0, len(rows), INSTALMENTS_PER_TRANSACTION):
        with sessions.begin() as session:  # type: ignore[attr-defined]
            for partner_id, entitlement_id, card_id in rows[
                chunk : chunk + INSTALMENTS_PER_TRANSACTION
            ]:
                write_booking(
                    session,
                    BookingWrite(
                        issuer_id=issuer_id, partner_id=partner_id,
                        entitlement_id=entitlement_id, card_id=card_id,
                        category="participation", amount_cents=100, units=0,
                        service_date=DUE.date(), reference=None,
                        idempotency_key=f"base:{entitlement_id}", request_hash=b"x" * 32,
                        device_token_id=None, created_at=DUE, entitled_cents=1_000_000,
                        units_total=None, units_per_day=None, actor="bench", audit_data="{}",
                    ),
                )  # fmt: skip
    return len(rows) / (time.perf_counter() - start)


def runner(url: str, barrier: object) -> None:
    engine = make_engine(url)
    barrier.wait()  # type: ignore[attr-defined]
    book_due_instalments(make_sessionmaker(engine), lambda: DUE)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mandates", type=int, default=100_000)
    parser.add_argument("--runners", type=int, default=4)
    args = parser.parse_args()
    url = create_postgres_database(ADMIN_URL)
    try:
        migrate.upgrade(url)
        issuer_id = fill(url, args.mandates, "M-")
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        print(f"{args.mandates:,} mandates due in March 2026; peak memory {peak_mb():.0f} MB")
        first = 0.0
        for label in ("first run", "the job again"):
            start = time.perf_counter()
            booked = book_due_instalments(sessions, lambda: DUE)
            took = time.perf_counter() - start
            first = took if label == "first run" else first
            rate = f"{args.mandates / took:8,.0f} mandates/s" if booked else "(nothing to book)"
            print(f"{label:<14} {booked:>8,} booked in {took:6.1f} s   {rate}"
                  f"   peak {peak_mb():.0f} MB")  # fmt: skip
        base = baseline(sessions, issuer_id, args.mandates // 10)
        print(f"baseline       {args.mandates // 10:>8,} bookings by the booking function alone: "
              f"{base:8,.0f}/s   (instalments at {args.mandates / first:,.0f}/s: "
              f"{args.mandates / first / base:.2f} of it)")  # fmt: skip
        with sessions() as session:
            booked_rows = session.scalar(
                text("SELECT count(*) FROM bookings WHERE issuer_id = :i"), {"i": issuer_id}
            )
            assert booked_rows == args.mandates + args.mandates // 10, booked_rows
            assert ledger.check(session, issuer_id) == []

        second = fill(url, args.mandates, "R-")
        barrier = multiprocessing.get_context("fork").Barrier(args.runners)
        processes = [
            multiprocessing.get_context("fork").Process(target=runner, args=(url, barrier))
            for _ in range(args.runners)
        ]
        engine.dispose()
        start = time.perf_counter()
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        took = time.perf_counter() - start
        engine = make_engine(url)
        with make_sessionmaker(engine)() as session:
            once = session.execute(
                text(
                    "SELECT count(*), count(DISTINCT idempotency_key) FROM bookings "
                    "WHERE issuer_id = :i"
                ),
                {"i": second},
            ).one()
            assert once[0] == once[1] == args.mandates, once
        print(f"{args.runners} runners at once over {args.mandates:,} fresh mandates (youcard "
              f"jobs run --workers {args.runners}): each booked once ({once[0]:,} bookings) in "
              f"{took:.1f} s, {args.mandates / took:,.0f} mandates/s")  # fmt: skip
        engine.dispose()
    finally:
        drop_postgres_database(ADMIN_URL, url)


if __name__ == "__main__":
    main()
