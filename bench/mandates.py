"""Monthly instalments on PostgreSQL: N mandates (one per child, participation) due in one
month, booked by `book_due_instalments` — once by one runner, then the same month again
(must book nothing, and take less); then R runners started at once (`youcard jobs run
--workers R`) over as many fresh mandates (each instalment booked once). Beside it, a
baseline in the same run: a tenth as many bookings through the booking function alone, in
transactions of the job's size (the ledger's own speed).

Usage: .venv/bin/python bench/mandates.py [--mandates 100000] [--runners 4]
docs/targets.md's target: 100,000 instalments under 60 s, each booked once however often the job
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
from tests.factories import due_mandates  # noqa: E402
from youcard import migrate  # noqa: E402
from youcard.db import make_engine, make_sessionmaker  # noqa: E402
from youcard.operations.booking.write import BookingWrite, write_booking  # noqa: E402
from youcard.operations.instalments import (  # noqa: E402
    INSTALMENTS_PER_TRANSACTION,
    book_due_instalments,
)
from youcard.reads import ledger  # noqa: E402

DUE = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # the last day of March: every day is due


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(url: str, mandates: int, reference: str) -> str:
    """Children, approved participation, a card each and a mandate each (SQL: seconds)."""
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        issuer_id = due_mandates(session, mandates, reference)
        session.execute(text("ANALYZE"))
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
