"""The approvals import on PostgreSQL: read + dry run, record, confirm, then the same file
again (must change nothing, and take less), for N lines (2 children per household, mixed
categories), beside a baseline in the same run: inserting the same number of entitlement
rows with one executemany (the raw write ceiling).

Usage: .venv/bin/python bench/import.py [--lines 100000]
docs/targets.md's target: 100,000 approvals under 60 s on PostgreSQL, memory flat.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.redeem import ADMIN_URL  # noqa: E402
from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.factories import NOW, Factory  # noqa: E402
from youcard import migrate  # noqa: E402
from youcard.db import make_engine, make_sessionmaker  # noqa: E402
from youcard.domain.enums import Role  # noqa: E402
from youcard.imports.approvals_file import in_chunks  # noqa: E402
from youcard.imports.batches import record_import  # noqa: E402
from youcard.imports.confirmation import confirm_import  # noqa: E402
from youcard.imports.plan import Planner  # noqa: E402
from youcard.policy import Staff  # noqa: E402

HEADER = (
    "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;valid_from;"
    "valid_until;amount_eur;units;unit_cap_eur;per_day;legal_basis;status"
)
KINDS = [
    ("participation", "", "SGB2"),
    ("lunch", "", "BKGG"),
    ("trips", "120,00", "SGB2"),
    ("tutoring", "", "SGB12"),
]


def approvals_file(lines: int) -> bytes:
    rows = [HEADER]
    for n in range(lines):
        child, (category, amount, basis) = n // 2, KINDS[n % 4]
        household = child // 2
        end = "31.07.2026" if category == "tutoring" else "31.12.2026"
        rows.append(
            f"D-{n};HAM-{household};P-{child};Muster{household};Kind{child};"
            f"{1 + child % 28:02d}.05.2014;{category};01.02.2026;{end};{amount};;;;{basis};"
        )
    return ("\r\n".join(rows) + "\r\n").encode()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    url = create_postgres_database(ADMIN_URL)
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with sessions.begin() as session:
            make = Factory(session)
            issuer = make.issuer()
            caseworker = Staff.of(make.staff(issuer, Role.CASEWORKER))
            approver = Staff.of(make.staff(issuer, Role.APPROVER))
        data = approvals_file(args.lines)
        today = date(2026, 3, 16)
        print(f"{args.lines:,} lines, {len(data) / 2**20:.1f} MB; peak memory {peak_mb():.0f} MB")
        for round_ in ("first import", "same file again"):
            start = time.perf_counter()
            counts: Counter[str] = Counter()
            with sessions() as session:  # the dry run as the command does it, chunk by chunk
                planner = Planner(session, by=caseworker, today=today)
                for lines, refusals in in_chunks(data):
                    counts.update(plan.outcome for plan in planner.plan(lines, refusals))
            dry = time.perf_counter() - start
            peaks = [peak_mb()]
            with sessions.begin() as session:
                batch = record_import(session, by=caseworker, data=data, file_name="f.csv", now=NOW)
                batch_id = batch.id
            recorded = time.perf_counter() - start - dry
            peaks.append(peak_mb())
            with sessions.begin() as session:
                confirm_import(session, by=approver, batch_id=batch_id, now=NOW)
            total = time.perf_counter() - start
            print(
                f"{round_:<16} dry run {dry:6.1f} s   record {recorded:6.1f} s   confirm "
                f"{total - dry - recorded:6.1f} s   total {total:6.1f} s   "
                f"{args.lines / total:8,.0f} lines/s   {dict(counts)}   peak after dry run, "
                f"record, confirm {peaks[0]:.0f}, {peaks[1]:.0f}, {peak_mb():.0f} MB"
            )
        with engine.begin() as conn:  # the raw ceiling: one executemany of as many rows
            conn.execute(text("CREATE TEMP TABLE t (a text, b text, c date, d date, e int)"))
            start = time.perf_counter()
            conn.execute(
                text("INSERT INTO t VALUES (:a, :b, :c, :d, :e)"),
                [{"a": f"D-{n}", "b": "lunch", "c": today, "d": today, "e": n}
                 for n in range(args.lines)],
            )  # fmt: skip
            raw = time.perf_counter() - start
        print(f"baseline         executemany of {args.lines:,} rows {raw:6.1f} s")
        engine.dispose()
    finally:
        drop_postgres_database(ADMIN_URL, url)


if __name__ == "__main__":
    main()
