"""Over HTTP, against a real gunicorn with several workers on PostgreSQL: no overspend, no
double booking, replays answered with the first booking, and a clean ledger."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from youcard.clock import berlin_date, utcnow
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category, RuleKind
from youcard.domain.models import Booking, Entitlement
from youcard.reads import ledger

CLIENTS = 32
ATTEMPTS = 5
TOTAL, AMOUNT = 10_000, 100  # 100 bookings fit; 160 are attempted, each sent twice


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("the HTTP concurrency proof runs on PostgreSQL")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOUCARD_")}
    env.update(
        YOUCARD_DATABASE_URL=database_url,
        YOUCARD_INSTANCE_PATH=str(tmp_path),
        YOUCARD_SECRET_KEY="test",
        YOUCARD_RATE_LIMIT="1000000/minute",
    )
    log = (tmp_path / "gunicorn.log").open("w")  # a file: an undrained pipe blocks the workers
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "3",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "redeemer:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/api/v1/openapi.json", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text()[-2000:])
    yield base
    process.terminate()
    process.wait(timeout=20)
    log.close()


def test_32_clients_replaying_keys_never_overspend(gunicorn, world, committed):
    today = berlin_date(utcnow())
    w = world(
        categories=(Category.PARTICIPATION,),
        rules={Category.PARTICIPATION: BudgetRule(RuleKind.TOTAL, TOTAL)},
        period=(today - timedelta(days=30), today + timedelta(days=300)),
        now=utcnow(),
    )
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[tuple[str, int, str, int | None]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        try:
            attempts(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(exc)

    def attempts(i: int) -> None:
        http = requests.Session()
        barrier.wait()
        for a in range(ATTEMPTS):
            key = f"{i}-{a}-{uuid.uuid4().hex[:8]}"
            for _ in range(2):  # every request is retried once with the same key
                r = http.post(
                    gunicorn + "/api/v1/bookings",
                    json={
                        "credential": w.credential,
                        "category": "participation",
                        "amount_cents": AMOUNT,
                    },
                    headers={**w.auth, "Idempotency-Key": key},
                    timeout=30,
                )
                body = r.json()
                with lock:
                    outcomes.append((key, r.status_code, body.get("code", ""), body.get("id")))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(outcomes) == CLIENTS * ATTEMPTS * 2
    statuses = Counter(status for _, status, _, _ in outcomes)
    assert set(statuses) <= {201, 409}, statuses
    booked_ids = {booking_id for _, status, _, booking_id in outcomes if status == 201}
    assert len(booked_ids) == TOTAL // AMOUNT
    by_key: dict[str, set] = {}
    for key, status, code, booking_id in outcomes:
        by_key.setdefault(key, set()).add((status, booking_id) if status == 201 else (status, code))
    # A retry answers like the first try: the same booking, or the same refusal when
    # there was nothing left then (a refusal books nothing, so a retry may still find money).
    for answers in by_key.values():
        ids = {a[1] for a in answers if a[0] == 201}
        assert len(ids) <= 1
    with committed() as session:
        assert session.get(Entitlement, w.entitlement_ids["participation"]).spent_cents == TOTAL
        assert (
            session.scalar(
                select(func.count()).select_from(Booking).where(Booking.partner_id == w.partner_id)
            )
            == TOTAL // AMOUNT
        )
        assert ledger.check(session, w.issuer_id) == []
