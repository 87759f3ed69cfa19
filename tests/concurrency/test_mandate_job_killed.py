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

from tests.factories import due_mandates
from youcard.db import make_engine, make_sessionmaker
from youcard.operations.instalments import book_due_instalments
from youcard.reads import ledger

MANDATES = 4_000
DUE = datetime(2026, 3, 31, 12, tzinfo=UTC)
RUN = """
import sys
from datetime import UTC, datetime
from youcard.db import make_engine, make_sessionmaker
from youcard.operations.instalments import book_due_instalments
print(book_due_instalments(make_sessionmaker(make_engine(sys.argv[1])),
                           lambda: datetime(2026, 3, 31, 12, tzinfo=UTC)))
"""


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
        with sessions.begin() as session:
            issuer_id = due_mandates(session, MANDATES)
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


def test_four_runners_started_at_once_over_ten_thousand_mandates_book_each_once(
    private_database_url,
):
    """#18's proof: four job processes at once over 10,000 mandates (PostgreSQL: FOR UPDATE
    SKIP LOCKED shares them out); every instalment booked exactly once, none half-done, the
    ledger clean, and a fifth run finds nothing left."""
    if not private_database_url.startswith("postgresql"):
        pytest.skip("runners in parallel processes are a PostgreSQL matter (SQLite: one writer)")
    many = 10_000
    engine = make_engine(private_database_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            issuer_id = due_mandates(session, many)
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
        runners = [
            subprocess.Popen([sys.executable, "-c", RUN, private_database_url], env=env,
                             stdout=subprocess.PIPE, text=True)
            for _ in range(4)
        ]  # fmt: skip
        booked = [int(runner.communicate(timeout=240)[0]) for runner in runners]
        assert [runner.returncode for runner in runners] == [0, 0, 0, 0]
        assert sum(booked) == many and sum(1 for n in booked if n) >= 2, booked  # shared out
        once = text(
            "SELECT count(*), count(DISTINCT idempotency_key) FROM bookings WHERE issuer_id = :i"
        )
        with sessions() as session:
            assert tuple(session.execute(once, {"i": issuer_id}).one()) == (many, many)
            march = {"i": issuer_id, "month": ":2026-03"}
            assert session.execute(text(HALF_DONE), march).scalar_one() == 0
            assert ledger.check(session, issuer_id) == []
        assert book_due_instalments(sessions, lambda: DUE) == 0
    finally:
        engine.dispose()
