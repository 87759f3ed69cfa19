"""The failover drill (`youcard drill failover`, docs/operations.md "Failover"): a primary
with a synchronous standby (two clusters of its own on this machine), the redeemer under
gunicorn on the multi-host URL, clients booking all the while. Then the primary's host dies
(SIGKILL to every process of its cluster); the drill's watcher sees it gone and promotes
the standby; the apps find the new primary by themselves. Afterwards: every booking a
client saw answered 201 is on the new primary, none twice, the ledger check and the audit
chain are clean, and the seconds without service are printed.

With `kill="standby"` the standby dies instead: with synchronous commit and no standby, a
booking waits (PostgreSQL's commit waits for the standby however long; the clients here
give up after 10 s), nothing a client saw answered 201 is lost, and once the operator lets
the primary write alone the waiting bookings finish.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from youcard import audit, migrate
from youcard.clock import berlin_date, utcnow
from youcard.credentials import b64url
from youcard.db import make_engine, make_sessionmaker
from youcard.domain.entitlement_rules import rule_from_amount
from youcard.domain.enums import Category, Role
from youcard.domain.models import Booking
from youcard.drills.cluster import Cluster, free_port, multi_host_url, pg_bin
from youcard.drills.load import Gunicorn, Load
from youcard.operations.cards import issue_card
from youcard.operations.entitlements import approve_entitlement, record_entitlement
from youcard.operations.households import add_child, create_household
from youcard.operations.issuers import create_issuer
from youcard.operations.partners import create_device_token, create_partner
from youcard.operations.staff_accounts import create_staff_user
from youcard.policy import Staff
from youcard.reads import ledger

ISSUER = "DE-DRILL"
CLIENTS = 6


@dataclass
class FailoverResult:
    """What the drill saw: the answers by status, the bookings answered 201, those missing
    on the new primary or stored twice, the checks, and the figures in seconds."""

    statuses: dict[int, int] = field(default_factory=dict)
    answered: int = 0
    missing: int = 0
    duplicated: int = 0
    stored_more: int = 0  # stored, but their answer was cut by the failover
    ledger: list[object] = field(default_factory=list)  # differences found
    audit: list[object] = field(default_factory=list)  # chain problems found
    retry_after: set[str] = field(default_factory=set)
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        unexpected = set(self.statuses) - {0, 201, 503}
        return (
            self.answered > 0
            and not self.missing
            and not self.duplicated
            and not self.ledger
            and not self.audit
            and not unexpected
        )


def seed(url: str, kek: bytes, children: int = 40) -> tuple[list[str], str]:
    """A city with children whose trips benefits never run out, their cards, and a partner
    with a device token — made through the operations, as a city would."""
    engine = make_engine(url)
    now = utcnow()
    today = berlin_date(now)
    system = Staff.system(ISSUER, "drill")
    credentials = []
    with make_sessionmaker(engine).begin() as session:
        create_issuer(session, by=system, name="Drill City", kek=kek, now=now)
        people = {
            role: create_staff_user(
                session,
                by=system,
                username=f"drill-{role.value}",
                display_name=role.value,
                role=role,
                now=now,
            ).user
            for role in (Role.CASEWORKER, Role.APPROVER)
        }
        household = create_household(
            session, by=system, reference="DRILL-1", family_name="Drill", now=now
        )
        for n in range(children):
            child = add_child(
                session,
                by=system,
                household_id=household.id,
                given_name=f"Kind {n}",
                family_name="Drill",
                birth_date=date(2015, 1, 1),
                now=now,
            )
            entitlement = record_entitlement(
                session,
                child_id=child.id,
                category=Category.TRIPS,
                valid_from=today - timedelta(days=30),
                valid_until=today + timedelta(days=300),
                by=Staff.of(people[Role.CASEWORKER]),
                now=now,
                rule=rule_from_amount(Category.TRIPS, 5_000_000),
            )
            approve_entitlement(
                session,
                entitlement_id=entitlement.id,
                by=Staff.of(people[Role.APPROVER]),
                now=now,
                kek=kek,
            )
            card = issue_card(session, child_id=child.id, by=system, now=now, kek=kek)
            assert card.credential is not None  # made just now: its QR text is there
            credentials.append(card.credential)
        partner = create_partner(
            session,
            by=system,
            name="Drill Club",
            iban="DE89370400440532013000",
            permissions={ISSUER: {Category.TRIPS}},
            now=now,
            active=True,
        )
        token = create_device_token(
            session, by=system, partner_id=partner.id, name="drill", now=now
        ).token
    engine.dispose()
    return credentials, token


def run(
    workdir: Path,
    *,
    kill: str = "primary",
    seconds_before: float = 3.0,
    seconds_after: float = 5.0,
    say: Callable[[str], None] = lambda text: None,
) -> FailoverResult:
    """The drill in `workdir` (its logs); `kill`: "primary" or "standby"."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL's server programs are not installed")
    result = FailoverResult()
    clusters: list[Cluster] = []
    try:
        return _drill(bindir, workdir, kill, seconds_before, seconds_after, say, clusters, result)
    finally:
        for cluster in clusters:
            cluster.remove()


def _drill(
    bindir: Path,
    workdir: Path,
    kill: str,
    seconds_before: float,
    seconds_after: float,
    say: Callable[[str], None],
    clusters: list[Cluster],
    result: FailoverResult,
) -> FailoverResult:
    primary = Cluster(bindir)
    clusters.append(primary)
    server: Gunicorn | None = None
    load: Load | None = None
    clients: list[threading.Thread] = []
    try:
        primary.start(synchronous_standby_names="'*'", synchronous_commit="on")
        standby = Cluster(bindir, standby_of=primary)
        clusters.append(standby)
        # Promoted, it takes writes alone (as Patroni's synchronous_mode does when no
        # standby is left; with synchronous_mode_strict and two nodes writes would wait
        # until the old primary is rebuilt as its standby: docs/operations.md "Failover").
        standby.start(synchronous_standby_names="''")  # (its copy of the file named one)
        _wait_sync(primary)
        say(f"primary {primary.host}, synchronous standby {standby.host}")
        kek = secrets.token_bytes(32)
        migrate.upgrade(primary.url)
        credentials, token = seed(primary.url, kek)
        env = {k: v for k, v in os.environ.items() if not k.startswith("YOUCARD_")}
        env.update(
            YOUCARD_DATABASE_URL=multi_host_url(primary, standby),
            YOUCARD_SECRET_KEY=secrets.token_hex(16),
            YOUCARD_KEK=b64url(kek),
            YOUCARD_INSTANCE_PATH=str(workdir),
            YOUCARD_RATELIMIT_ENABLED="false",
            YOUCARD_DB_PING_IDLE_SECONDS="1",
        )
        server = Gunicorn(env, free_port(), workdir / "gunicorn.log")
        result.figures["redeemer started in"] = server.start()
        load = Load(server.port, token, credentials)
        clients = [threading.Thread(target=load.client, args=(n,)) for n in range(CLIENTS)]
        for client in clients:
            client.start()
        load.first_booking_after(time.perf_counter() - 1)
        time.sleep(seconds_before)
        survivor = standby if kill == "primary" else primary
        victim = primary if kill == "primary" else standby
        killed = time.perf_counter()
        victim.kill()
        say(f"{kill} killed (SIGKILL to every process of its cluster)")
        if kill == "primary":
            while victim.answers():  # the drill's watcher: the primary is gone
                time.sleep(0.05)
            result.figures["primary gone, seen after"] = time.perf_counter() - killed
            survivor.promote()
            result.figures["standby promoted after"] = time.perf_counter() - killed
            result.figures["seconds without service"] = load.first_booking_after(killed)
        else:
            load.more(CLIENTS, refused=True)  # bookings wait: none is acknowledged
            result.figures["first refusal after"] = time.perf_counter() - killed
        time.sleep(seconds_after)
    finally:
        if load is not None:
            load.stop.set()
        for client in clients:
            client.join(30)
        if server is not None:
            server.stop()
    assert load is not None
    result.statuses = dict(sorted(load.statuses.items()))
    result.answered = len(load.booked)
    result.retry_after = load.retry_after
    _check(survivor.url, load.booked, result)
    return result


def _check(url: str, booked: set[str], result: FailoverResult) -> None:
    # The drill's own writes (sealing the audit chain) never wait for a standby.
    engine = make_engine(url, connect_args={"options": "-c synchronous_commit=local"})
    try:
        with make_sessionmaker(engine).begin() as session:
            stored = list(session.scalars(select(Booking.idempotency_key)))
            result.missing = len(booked - set(stored))
            result.duplicated = len(stored) - len(set(stored))
            result.stored_more = len(set(stored) - booked)
            result.ledger = list(ledger.check(session))
            issuers = list(session.scalars(select(Booking.issuer_id).distinct()))
            for issuer_id in issuers:
                audit.seal(session, issuer_id)
            result.audit = list(audit.verify(session))
            assert session.scalar(select(func.count()).select_from(Booking)) == len(stored)
    finally:
        engine.dispose()


def _wait_sync(primary: Cluster, limit: float = 30) -> None:
    """Until the standby streams and is the primary's synchronous one."""
    engine = make_engine(primary.url)
    deadline = time.perf_counter() + limit
    try:
        while time.perf_counter() < deadline:
            with engine.connect() as connection:
                states = (
                    connection.exec_driver_sql("SELECT sync_state FROM pg_stat_replication")
                    .scalars()
                    .all()
                )
            if "sync" in states:
                return
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise RuntimeError("the standby did not become synchronous")
