"""The fault drill (docs/operations.md "Operations"), on a private PostgreSQL cluster made for it
(never the shared server) with the redeemer under real gunicorn and clients booking all the
while: a worker killed with SIGKILL (the master starts another), the master and its
workers killed at once as systemd's `KillMode=control-group` does (a new master binds the
same port at once), and PostgreSQL itself stopped hard and started again (crash recovery).
Afterwards every booking a client saw as 201 exists, nothing half-written is left (the
ledger check and the audit chain are clean), and the time each recovery took is printed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
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
from youcard.operations.cards import issue_card
from youcard.policy import Staff
from youcard.reads import ledger

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 6
METRICS_TOKEN = "drill-metrics-0123456789"


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster of its own in a temporary folder (as the `postgres` user when
    the tests run as root: PostgreSQL refuses root)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="youcard-drill-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            os.chmod(self.folder, 0o700)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bindir / tool), *args], check=True,
                       capture_output=True, cwd=self.folder)  # fmt: skip

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
                   "-c max_connections=60 -c fsync=on")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip

    def crash(self) -> None:
        """Stop at once, as a power cut would leave it: the next start recovers from the WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.crash()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def cluster(database_url) -> Iterator[Cluster]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the fault drill runs on PostgreSQL (SQLite has no server to restart)")
    bindir = _pg_bin()
    if bindir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
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


class Gunicorn:
    """The redeemer under gunicorn with deploy/gunicorn.conf.py, in a process group of its own
    (systemd's control group), with an empty metrics folder at each start (the unit's
    RuntimeDirectory)."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start it; seconds until it answers."""
        started = time.perf_counter()
        metrics = Path(tempfile.mkdtemp(prefix="youcard-metrics-", dir=self.log.parent))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--workers", "2",
             "--threads", "4", "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning",
             "--graceful-timeout", "2", "redeemer:create_app()"],
            env={**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}, cwd=ROOT,
            start_new_session=True, stderr=self.log.open("ab"),
        )  # fmt: skip
        while time.perf_counter() - started < 60:
            try:
                requests.get(self.base + "/healthz", timeout=2)
                return time.perf_counter() - started
            except requests.RequestException:
                time.sleep(0.05)
        raise AssertionError("gunicorn did not answer within 60 s")

    def booked_metric(self) -> float:
        """youcard_bookings_total as scraped: the sum over every worker's file."""
        answer = requests.get(self.base + "/metrics", timeout=5,
                              headers={"Authorization": f"Bearer {METRICS_TOKEN}"})  # fmt: skip
        assert answer.status_code == 200
        for line in answer.text.splitlines():
            if line.startswith('youcard_bookings_total{service="redeemer"} '):
                return float(line.split()[-1])
        return 0.0

    def workers(self) -> list[int]:
        assert self.process is not None
        master = self.process.pid
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == master:
                    found.append(int(entry.name))
        return found

    def kill_group(self) -> None:
        """SIGKILL to the master and every worker at once (KillMode=control-group)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Load:
    """Clients booking 1 cent at a time, each request with a new key, until stopped."""

    base: str
    token: str
    credentials: list[str]
    booked: set[str] = field(default_factory=set)  # keys answered 201
    statuses: dict[int, int] = field(default_factory=dict)
    times: list[tuple[float, float]] = field(default_factory=list)  # a 201: (asked, answered)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, n: int) -> None:
        session = requests.Session()
        i = 0
        while not self.stop.is_set():
            i += 1
            key = f"drill-{n}-{i}"
            asked = time.perf_counter()
            try:
                answer = session.post(
                    self.base + "/api/v1/bookings", timeout=5,
                    headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key},
                    json={"credential": self.credentials[(n * 7 + i) % len(self.credentials)],
                          "category": "trips", "amount_cents": 1},
                )  # fmt: skip
                status = answer.status_code
            except requests.RequestException:
                status = 0  # no answer: the connection was cut
                session = requests.Session()
                time.sleep(0.02)
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 201:
                    self.booked.add(key)
                    self.times.append((asked, time.perf_counter()))
            if status not in (0, 201):
                time.sleep(0.02)

    def first_booking_after(self, moment: float, limit: float = 60) -> float:
        """Seconds from `moment` to the first 201 of a request asked after it."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            with self.lock:
                after = [answered for asked, answered in self.times if asked > moment]
            if after:
                return min(after) - moment
            time.sleep(0.02)
        raise AssertionError(f"no booking within {limit} s")

    def more(self, n: int, *, refused: bool = False, limit: float = 60) -> None:
        """Wait (polling) until `n` more bookings are answered 201, or with `refused` until
        `n` more requests are answered otherwise (no database: 503, or cut)."""

        def count() -> int:
            with self.lock:
                answered = sum(self.statuses.values())
                return answered - len(self.booked) if refused else len(self.booked)

        goal, deadline = count() + n, time.perf_counter() + limit
        while count() < goal:
            assert time.perf_counter() < deadline, f"not {n} more answers within {limit} s"
            time.sleep(0.02)


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
    server = Gunicorn(env, _free_port(), log)
    figures: dict[str, float] = {"first start": server.start()}
    load = Load(server.base, token, credentials)
    clients = [threading.Thread(target=load.client, args=(n,)) for n in range(CLIENTS)]
    try:
        for client in clients:
            client.start()
        load.first_booking_after(time.perf_counter() - 1)
        load.more(50)
        # The metrics are every worker's together (multiprocess mode), not the answering one's.
        with load.lock:
            before = len(load.booked)
        scraped = server.booked_metric()
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
        assert server.booked_metric() >= scraped  # the dead worker's bookings still count
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
