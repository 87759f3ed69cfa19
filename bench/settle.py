"""Monthly settlement at volume: prepare, finalize and export a month of many bookings.

Usage: .venv/bin/python bench/settle.py [--bookings 1000000] [--partners 200]
Makes and drops its own PostgreSQL database (YOUCARD_BENCH_POSTGRES_URL, default: the
local server). Bookings are written by SQL (generate_series) spread over March 2026,
1 in 20 cancelled; the entitlements' counters are not kept in step (the settlement
reads bookings only).

Prints, for a baseline of a tenth of the volume and then the full volume, measured in
the same run: seconds to prepare the draft, to finalize (locking every booking), to
stream the bookings CSV and to make the SEPA file, and this process's peak memory
growth. docs/targets.md's target: 1,000,000 bookings settle in under 60 s, memory flat.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.factories import Factory  # noqa: E402
from youcard import migrate  # noqa: E402
from youcard.db import make_engine, make_sessionmaker  # noqa: E402
from youcard.documents import settlement_files  # noqa: E402
from youcard.domain.budget import BudgetRule, RuleKind  # noqa: E402
from youcard.domain.enums import Category  # noqa: E402
from youcard.operations.settlements import finalize, prepare  # noqa: E402
from youcard.policy import Staff  # noqa: E402

ADMIN_URL = os.environ.get(
    "YOUCARD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARCH = date(2026, 3, 1)
LATER = datetime(2026, 4, 2, 8, tzinfo=UTC)


def rss_peak_kb() -> int:
    """This process's peak resident memory (VmHWM), in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_peak() -> None:
    """Start measuring the peak afresh (Linux: write 5 to clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def seed(session_factory, bookings: int, partners: int) -> str:
    """An issuer with partners, one card per partner, and `bookings` rows in March."""
    with session_factory.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        issuer.iban = "DE02120300000000202051"
        child = make.child(issuer)
        entitlement = make.entitlement(
            child, Category.PARTICIPATION, rule=BudgetRule(RuleKind.TOTAL, 2_000_000_000)
        )
        card = make.card(child)
        partner_ids = [make.partner(issuer, {Category.PARTICIPATION}).id for _ in range(partners)]
        session.flush()
        session.execute(
            text(
                "INSERT INTO bookings (issuer_id, partner_id, entitlement_id, card_id, kind,"
                " category, amount_cents, units, service_date, idempotency_key, created_at)"
                " SELECT :issuer, (:first + n % :partners), :entitlement, :card, 'booking',"
                " 'participation', 100 + n % 4900, 0, date '2026-03-01' + (n % 31),"
                " 'bench-' || n, timestamptz '2026-03-01 00:00+01' + (n % 2678000) * interval"
                " '1 second' FROM generate_series(1, :n) AS n"
            ),
            {
                "issuer": issuer.id,
                "first": partner_ids[0],
                "partners": partners,
                "entitlement": entitlement.id,
                "card": card.id,
                "n": bookings - bookings // 21,
            },
        )
        session.execute(
            text(
                "INSERT INTO bookings (issuer_id, partner_id, entitlement_id, card_id, kind,"
                " cancels_id, category, amount_cents, units, service_date, created_at)"
                " SELECT issuer_id, partner_id, entitlement_id, card_id, 'cancellation', id,"
                " category, amount_cents, 0, service_date, created_at + interval '1 minute'"
                " FROM bookings WHERE issuer_id = :issuer AND id % 20 = 0"
                " AND created_at < timestamptz '2026-03-31 23:00+02'"
            ),
            {"issuer": issuer.id},
        )
        total = session.scalar(
            text("SELECT count(*) FROM bookings WHERE issuer_id = :i"), {"i": issuer.id}
        )
        print(f"  seeded {total:,} bookings and cancellations for {partners} partners")
        return issuer.id


def measure(url: str, bookings: int, partners: int) -> dict[str, float]:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    started = time.perf_counter()
    issuer_id = seed(factory, bookings, partners)
    seeded = time.perf_counter() - started
    with factory() as session:
        session.execute(text("ANALYZE bookings"))
        session.commit()
    figures: dict[str, float] = {"seed_s": seeded}
    reset_peak()
    base = rss_peak_kb()
    with factory.begin() as session:
        t = time.perf_counter()
        run = prepare(session, by=Staff.system(issuer_id, "bench"), month=MARCH, now=LATER)
        figures["prepare_s"] = time.perf_counter() - t
        net = run.net_cents
    with factory.begin() as session:
        t = time.perf_counter()
        run = finalize(
            session,
            settlement_id=run.id,
            by=Staff.system(issuer_id, "bench"),
            now=LATER,
            expected_net_cents=net,
        )
        figures["finalize_s"] = time.perf_counter() - t
    with factory() as session:
        t = time.perf_counter()
        size = sum(len(chunk) for chunk in settlement_files.bookings_csv(session, run))
        figures["csv_s"] = time.perf_counter() - t
        figures["csv_mb"] = size / 1e6
        t = time.perf_counter()
        settlement_files.sepa_xml(session, run, execution_date=date(2026, 4, 3))
        figures["sepa_s"] = time.perf_counter() - t
        figures["rows"] = run.bookings_count
    figures["peak_growth_mb"] = (rss_peak_kb() - base) / 1024
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=200)
    args = parser.parse_args()
    results = []
    for volume in (args.bookings // 10, args.bookings):
        url = create_postgres_database(ADMIN_URL)
        try:
            migrate.upgrade(url)
            print(f"{volume:,} bookings:")
            results.append(measure(url, volume, args.partners))
        finally:
            drop_postgres_database(ADMIN_URL, url)
    for f in results:
        settle = f["prepare_s"] + f["finalize_s"]
        print(
            f"{int(f['rows']):>9,} rows: prepare {f['prepare_s']:5.1f} s, finalize"
            f" {f['finalize_s']:5.1f} s (settle {settle:5.1f} s), bookings CSV"
            f" {f['csv_s']:5.1f} s ({f['csv_mb']:.0f} MB), SEPA {f['sepa_s']:4.2f} s,"
            f" peak memory growth {f['peak_growth_mb']:5.1f} MB   [target: settle < 60 s]"
        )
    small, large = results
    ratio = (large["prepare_s"] + large["finalize_s"]) / (small["prepare_s"] + small["finalize_s"])
    print(
        f"10x the bookings: settle time x{ratio:.1f}, peak memory growth"
        f" {small['peak_growth_mb']:.1f} -> {large['peak_growth_mb']:.1f} MB"
    )


if __name__ == "__main__":
    main()
