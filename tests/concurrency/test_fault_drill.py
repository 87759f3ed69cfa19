"""The fault drill (docs/operations.md "Operations"), on a private PostgreSQL cluster made for it
(never the shared server) with the redeemer under real gunicorn and clients booking all the
while: a worker killed with SIGKILL (the master starts another), the master and its
workers killed at once as systemd's `KillMode=control-group` does (a new master binds the
same port at once), and PostgreSQL itself stopped hard and started again (crash recovery).
Afterwards every booking a client saw as 201 exists, nothing half-written is left (the
ledger check and the audit chain are clean), and the time each recovery took is printed.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from tests.factories import KEK, Factory
from youcard import audit, migrate
from youcard.clock import berlin_date, utcnow
from youcard.db import make_engine, make_sessionmaker
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category, RuleKind
from youcard.domain.models import Booking
from youcard.drills.cluster import Cluster, can_make_clusters, free_port, pg_bin
from youcard.drills.load import Gunicorn, Load
from youcard.operations.cards import issue_card
from youcard.policy import Staff
from youcard.reads import ledger

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 6
METRICS_TOKEN = "drill-metrics-0123456789"


@pytest.fixture
def cluster(database_url) -> Iterator[Cluster]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the fault drill runs on PostgreSQL (SQLite has no server to restart)")
    bindir = pg_bin()
    if bindir is None or not can_make_clusters():
        pytest.skip("no PostgreSQL server binaries to make a private cluster with")
    made = Cluster(bindir)
    try:
        made.start()
        yield made
    finally:
        made.remove()


def _seed(url: str, children: int) -> tuple[list[str], str]:
    """Children with trips budgets, cards, a partner and its device token."""
    engine = make_engine(url)
    now = utcnow()
    today = berlin_date(now)
    with make_sessionmaker(engine).begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        credentials = []
        for _ in range(children):
            child = make.child(issuer)
            period = (today - timedelta(days=30), today + timedelta(days=300))
            make.entitlement(child, Category.TRIPS, rule=BudgetRule(RuleKind.TOTAL, 10**9),
                             period=period)  # fmt: skip
            card = issue_card(session, child_id=child.id, by=Staff.system(issuer.id, "drill"),
                              now=now, kek=KEK)  # fmt: skip
            credentials.append(card.credential)
        partner = make.partner(issuer, {Category.TRIPS})
        _, token = make.device(partner)
    engine.dispose()
    return credentials, token


def booked_metric(server: Gunicorn) -> float:
    """youcard_bookings_total as scraped: the sum over every worker's file."""
    answer = requests.get(server.base + "/metrics", timeout=5,
                          headers={"Authorization": f"Bearer {METRICS_TOKEN}"})  # fmt: skip
    assert answer.status_code == 200
    for line in answer.text.splitlines():
        if line.startswith('youcard_bookings_total{service="redeemer"} '):
            return float(line.split()[-1])
    return 0.0


def test_kills_and_a_database_crash_lose_no_booking_a_client_saw(cluster, tmp_path, capsys):
    migrate.upgrade(cluster.url)
    credentials, token = _seed(cluster.url, 40)
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOUCARD_")}
    env.update(
        YOUCARD_DATABASE_URL=cluster.url, YOUCARD_SECRET_KEY="drill",
        YOUCARD_INSTANCE_PATH=str(tmp_path), YOUCARD_RATELIMIT_ENABLED="false",
        YOUCARD_DB_PING_IDLE_SECONDS="1", YOUCARD_METRICS_TOKEN=METRICS_TOKEN,
    )  # fmt: skip
    log = tmp_path / "gunicorn.log"
    server = Gunicorn(env, free_port(), log)
    figures: dict[str, float] = {"first start": server.start()}
    load = Load(server.port, token, credentials)
    clients = [threading.Thread(target=load.client, args=(n,)) for n in range(CLIENTS)]
    try:
        for client in clients:
            client.start()
        load.first_booking_after(time.perf_counter() - 1)
        load.more(50)
        # The metrics are every worker's together (multiprocess mode), not the answering one's.
        with load.lock:
            before = len(load.booked)
        scraped = booked_metric(server)
        with load.lock:
            after = len(load.booked)
        assert before <= scraped <= after + CLIENTS, (before, scraped, after)

        # 1. A worker killed: the master starts another; the other worker goes on meanwhile.
        victim = server.workers()[0]
        os.kill(victim, signal.SIGKILL)
        killed = time.perf_counter()
        figures["worker killed: next booking after"] = load.first_booking_after(killed)
        deadline = time.perf_counter() + 30
        while len(server.workers()) < 2 or victim in server.workers():
            assert time.perf_counter() < deadline, "the master did not replace the worker"
            time.sleep(0.05)
        figures["worker killed: replaced after"] = time.perf_counter() - killed
        assert booked_metric(server) >= scraped  # the dead worker's bookings still count
        load.more(50)

        # 2. The master and its workers killed at once; a new master binds the same port.
        server.kill_group()
        killed = time.perf_counter()
        server.start()
        figures["master and workers killed: new master up"] = time.perf_counter() - killed
        figures["master and workers killed: next booking"] = load.first_booking_after(killed)
        load.more(50)

        # 3. PostgreSQL stopped hard (crash) and started again (it recovers from its WAL).
        cluster.crash()
        load.more(20, refused=True)  # requests without a database: answered 503, not 500
        restarting = time.perf_counter()
        cluster.start()
        back = time.perf_counter()
        figures["database crashed: recovered and up in"] = back - restarting
        figures["database up: next booking after"] = load.first_booking_after(back)
        load.more(50)
    finally:
        load.stop.set()
        for client in clients:
            client.join(30)
        server.stop()

    errors = [line for line in log.read_text().splitlines()
              if "Error" in line and "database unavailable" not in line]  # fmt: skip
    assert 500 not in load.statuses and 502 not in load.statuses, (load.statuses, errors[-20:])
    assert set(load.statuses) <= {0, 201, 503}, load.statuses  # 0: cut by a kill
    engine = make_engine(cluster.url)
    try:
        with make_sessionmaker(engine).begin() as session:
            stored = set(session.scalars(select(Booking.idempotency_key)))
            assert load.booked and load.booked <= stored  # every 201 a client saw exists
            assert ledger.check(session) == []  # nothing half-written: counters match rows
            for issuer_id in session.scalars(select(Booking.issuer_id).distinct()):
                audit.seal(session, issuer_id)
            assert audit.verify(session) == []
    finally:
        engine.dispose()
    with capsys.disabled():
        print(f"\nfault drill: {len(load.booked):,} bookings answered 201, "
              f"{len(stored) - len(load.booked):,} more stored whose answer was cut; answers "
              f"{dict(sorted(load.statuses.items()))}")  # fmt: skip
        for name, seconds in figures.items():
            print(f"  {name:<44} {seconds:6.2f} s")
