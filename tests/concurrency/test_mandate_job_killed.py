"""A mandates job killed with SIGKILL in the middle of its run leaves nothing half-booked (a
mandate's instalment is booked if and only if its next due day moved on), and the next run
books the rest, each once; the ledger stays clean. On PostgreSQL, with a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.factories import Factory
from youcard import ledger
from youcard.db import make_engine, make_sessionmaker
from youcard.enums import Category
from youcard.operations.mandates import book_due_instalments

MANDATES = 4_000
DUE = datetime(2026, 3, 31, 12, tzinfo=UTC)
RUN = """
import sys
from datetime import UTC, datetime
from youcard.db import make_engine, make_sessionmaker
from youcard.operations.mandates import book_due_instalments
book_due_instalments(make_sessionmaker(make_engine(sys.argv[1])),
                     lambda: datetime(2026, 3, 31, 12, tzinfo=UTC))
"""


def _fill(sessions) -> str:
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        key = make.signing_key(issuer)
        partner = make.partner(issuer, {Category.PARTICIPATION})
        recorder = make.staff(issuer)
        household = make.household(issuer)
        session.flush()
        params = {"i": issuer.id, "k": key.id, "p": partner.id, "n": MANDATES,
                  "h": household.id, "s": recorder.id}  # fmt: skip
        for step in (
            "INSERT INTO children (issuer_id, household_id, given_name, family_name, birth_date,"
            " created_at, search_key) SELECT CAST(:i AS varchar), :h, 'K' || g, 'M', "
            "date '2014-05-17', now(), '' FROM generate_series(1, :n) g",
            "INSERT INTO entitlements (issuer_id, child_id, category, status, valid_from, "
            "valid_until, rule, accrual, amount_cents, cap_cents, spent_cents, spent_units, "
            "recorded_by_id, recorded_at) SELECT CAST(:i AS varchar), id, 'participation', "
            "'approved', date '2026-01-01', date '2026-12-31', 'monthly', 'accrue', 1500, 18000,"
            " 0, 0, :s, now() FROM children WHERE issuer_id = :i",
            "INSERT INTO cards (issuer_id, child_id, serial, version, status, valid_from, "
            "valid_until, issued_at, categories, signing_key_id) SELECT CAST(:i AS varchar), id,"
            " decode(md5(id::text), 'hex'), 1, 'active', date '2026-01-01', date '2026-12-31', "
            "now(), 1, :k FROM children WHERE issuer_id = :i",
            "INSERT INTO mandates (issuer_id, partner_id, child_id, card_id, category, reference,"
            " monthly_amount_cents, day_of_month, valid_from, status, next_due, created_at, "
            "created_by) SELECT CAST(:i AS varchar), :p, c.child_id, c.id, 'participation', "
            "'M-' || c.id, 1000, 15, date '2026-03-01', 'active', date '2026-03-15', now(), "
            "'partner:1' FROM cards c WHERE c.issuer_id = :i",
        ):
            session.execute(text(step), params)
        return issuer.id


HALF_DONE = """
SELECT count(*) FROM mandates m WHERE m.issuer_id = :i AND (m.next_due > date '2026-03-31')
  <> EXISTS (SELECT 1 FROM bookings b WHERE b.partner_id = m.partner_id
             AND b.idempotency_key = 'mandate:' || m.id || CAST(:month AS text))
"""


def test_a_killed_run_leaves_nothing_half_booked_and_the_next_run_completes_it(
    private_database_url,
):
    if not private_database_url.startswith("postgresql"):
        pytest.skip("the kill drill runs on PostgreSQL (SQLite: one writer, the same rollback)")
    engine = make_engine(private_database_url)
    sessions = make_sessionmaker(engine)
    try:
        issuer_id = _fill(sessions)
        march = {"i": issuer_id, "month": ":2026-03"}
        count = text("SELECT count(*) FROM bookings WHERE issuer_id = :i")
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
        process = subprocess.Popen([sys.executable, "-c", RUN, private_database_url], env=env)
        deadline = time.monotonic() + 120
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                if connection.execute(count, {"i": issuer_id}).scalar_one() >= 400:
                    break
                time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        with sessions() as session:
            booked = session.execute(count, {"i": issuer_id}).scalar_one()
            assert 0 < booked < MANDATES  # it was stopped half-way
            assert session.execute(text(HALF_DONE), march).scalar_one() == 0
            assert ledger.check(session, issuer_id) == []
        assert book_due_instalments(sessions, lambda: DUE) == MANDATES - booked
        with sessions() as session:
            assert session.execute(count, {"i": issuer_id}).scalar_one() == MANDATES
            assert session.execute(text(HALF_DONE), march).scalar_one() == 0
            assert ledger.check(session, issuer_id) == []
    finally:
        engine.dispose()
