"""The staff pages at a city's scale, on PostgreSQL: each main page's median and p95 time
beside a bare page of the same app (signed in, the base layout, nothing else) in the same
run, for a city of 1,000 and of 10,000 households (2 children each; 100 resp. 1,000
bookings per household, each with its audit event). No page may grow with the number of
households beyond the page it shows: its ratio to the bare page stays where it was.

Usage: .venv/bin/python bench/pages.py [--households 1000 10000] [--requests 30]
The city is filled through the import (households, children, approvals), then SQL for the
cards, bookings and audit events (a million rows in seconds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import render_template_string  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

import issuer  # noqa: E402
from bench.redeem import ADMIN_URL  # noqa: E402
from issuer.auth import require_roles  # noqa: E402
from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.factories import KEK, NOW, Factory  # noqa: E402
from tests.issuer.test_staff_login import HTTPS, _login  # noqa: E402
from youcard import migrate  # noqa: E402
from youcard.credentials import b64url  # noqa: E402
from youcard.db import make_engine, make_sessionmaker  # noqa: E402
from youcard.domain.enums import Category, Role  # noqa: E402
from youcard.domain.models import Child, Household  # noqa: E402
from youcard.imports.batches import record_import  # noqa: E402
from youcard.imports.confirmation import confirm_import  # noqa: E402
from youcard.policy import ALL_STAFF, Staff  # noqa: E402

HEADER = (
    "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;valid_from;"
    "valid_until;amount_eur;legal_basis"
)
BARE = "{% extends 'base.html' %}{% block title %}bare{% endblock %}{% block main %}{% endblock %}"


def approvals_file(households: int) -> bytes:
    """Two children per household; participation and trips each (tutoring for every tenth
    child, left to be approved by hand: the approvals page)."""
    rows = [HEADER]
    for child in range(2 * households):
        family = child // 2
        who = f"HAM-{family:06d};P-{child};Muster{family};Kind{child};{1 + child % 28:02d}.05.2014"
        rows.append(f"D-{child}-p;{who};participation;01.01.2026;31.12.2026;;SGB2")
        rows.append(f"D-{child}-t;{who};trips;01.01.2026;31.12.2026;120,00;BKGG")
        if child % 10 == 0:
            rows.append(f"D-{child}-n;{who};tutoring;01.02.2026;31.07.2026;;SGB12")
    return ("\r\n".join(rows) + "\r\n").encode()


def fill(sessions, households: int, bookings_per_household: int) -> dict[str, object]:
    with sessions.begin() as session:
        make = Factory(session)
        issuer_row = make.issuer()
        key = make.signing_key(issuer_row)
        admin = make.staff(issuer_row, Role.ADMINISTRATOR)
        caseworker = Staff.of(make.staff(issuer_row, Role.CASEWORKER))
        approver = Staff.of(make.staff(issuer_row, Role.APPROVER))
        partner = make.partner(issuer_row, set(Category))
        ids = {"issuer": issuer_row.id, "admin": admin.username, "key": key.id,
               "partner": partner.id, "caseworker": caseworker.user_id}  # fmt: skip
    data = approvals_file(households)
    with sessions.begin() as session:
        batch = record_import(session, by=caseworker, data=data, file_name="f.csv", now=NOW)
        batch_id = batch.id
    with sessions.begin() as session:
        confirm_import(session, by=approver, batch_id=batch_id, now=NOW)
    with sessions.begin() as session:
        params = {"i": ids["issuer"], "k": ids["key"], "p": ids["partner"],
                  "m": households * bookings_per_household, "c": ids["caseworker"]}  # fmt: skip
        session.execute(
            text(
                "UPDATE entitlements SET status = 'recorded', decided_by_id = NULL, "
                "decided_at = NULL WHERE issuer_id = :i AND category = 'tutoring'"
            ),
            params,
        )
        session.execute(
            text(
                "INSERT INTO cards (issuer_id, child_id, serial, version, status, valid_from, "
                "valid_until, issued_at, categories, signing_key_id, credential) "
                "SELECT CAST(:i AS varchar), id, decode(md5(id::text), 'hex'), 1, 'active', "
                "date '2026-01-01', date '2026-12-31', now(), 3, :k, 'YC1:BENCH' FROM children "
                "WHERE issuer_id = :i"
            ),
            params,
        )
        session.execute(
            text(
                "CREATE TEMP TABLE bench_e AS SELECT row_number() OVER (ORDER BY e.id) AS n, "
                "e.id AS entitlement_id, c.id AS card_id, e.category FROM entitlements e "
                "JOIN cards c ON c.child_id = e.child_id WHERE e.issuer_id = :i "
                "AND e.status = 'approved'"
            ),
            params,
        )
        count = session.scalar(text("SELECT count(*) FROM bench_e"))
        session.execute(
            text(
                "INSERT INTO bookings (issuer_id, partner_id, entitlement_id, card_id, kind, "
                "category, amount_cents, units, service_date, created_at, idempotency_key) "
                "SELECT CAST(:i AS varchar), :p, b.entitlement_id, b.card_id, 'booking', "
                "b.category, 100, 0, date '2026-01-01' + (g % 300), now(), 'k' || g "
                "FROM generate_series(1, :m) g JOIN bench_e b ON b.n = 1 + (g % :e)"
            ),
            {**params, "e": count},
        )
        session.execute(
            text(
                "INSERT INTO audit_events (issuer_id, occurred_at, actor, action, object_type, "
                "object_id, data) SELECT CAST(:i AS varchar), now(), "
                "'partner:' || CAST(:p AS text), 'booking.create', 'booking', id::text, '{}' "
                "FROM bookings WHERE issuer_id = :i"
            ),
            params,
        )
    with sessions.begin() as session:
        session.execute(text("ANALYZE"))
        household = session.scalars(
            select(Household.id).where(Household.issuer_id == ids["issuer"]).limit(1)
        ).one()
        child = session.scalars(
            select(Child.id).where(Child.household_id == household).limit(1)
        ).one()
    ids.update(household=household, child=child, batch=batch_id)
    return ids


def pages(ids: dict[str, object]) -> list[str]:
    return [
        "/",
        "/households",
        "/households?q=HAM-000123",  # one family, by its reference
        f"/households/{ids['household']}",
        f"/children/{ids['child']}",
        "/approvals",
        "/cards/print",
        "/imports",
        f"/imports/{ids['batch']}",
        "/admin/audit",
        "/admin/audit?action=booking.create",
        "/letters",
        "/admin/staff",
        "/admin/partners",
    ]


def measure(client, path: str, requests: int) -> tuple[float, float]:
    for _ in range(3):
        response = client.get(path, base_url=HTTPS)
        assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get(path, base_url=HTTPS)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def run(households: int, requests: int) -> dict[str, tuple[float, float]]:
    url = create_postgres_database(ADMIN_URL)
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        start = time.perf_counter()
        ids = fill(sessions, households, 100)
        took = time.perf_counter() - start
        print(f"{households:,} households, {2 * households:,} children, "
              f"{100 * households:,} bookings: filled in {took:.0f} s")  # fmt: skip
        engine.dispose()
        os.environ["YOUCARD_KEK"] = b64url(KEK)
        app = issuer.create_app(
            {
                "DATABASE_URL": url,
                "TESTING": True,
                "RATELIMIT_ENABLED": False,
                "CLOCK": lambda: NOW,
            }
        )

        @require_roles(*ALL_STAFF)
        def bare() -> str:
            return render_template_string(BARE)

        app.add_url_rule("/bench-bare", "bench_bare", bare)
        client = app.test_client()
        _login(client, str(ids["admin"]))
        found = {"bare": measure(client, "/bench-bare", requests)}
        for path in pages(ids):
            found[path] = measure(client, path, requests)
        return found
    finally:
        drop_postgres_database(ADMIN_URL, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    results = {size: run(size, args.requests) for size in args.households}
    sizes = list(results)
    print()
    print(f"{'page':<40}" + "".join(f"{f'{s:,} households':>34}" for s in sizes))
    print(f"{'':<40}" + "".join(f"{'median ms  p95 ms  ratio':>34}" for _ in sizes))
    for path in results[sizes[0]]:
        cells = []
        for size in sizes:
            median, p95 = results[size][path]
            ratio = median / results[size]["bare"][0]
            cells.append(f"{median:>16.1f}{p95:>8.1f}{ratio:>8.1f}x")
        print(f"{path:<40}" + "".join(f"{c:>34}" for c in cells))


if __name__ == "__main__":
    main()
