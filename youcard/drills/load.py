"""The redeemer under gunicorn as deploy/ runs it, and clients booking against it, counting
every answer on their side: what a client saw answered 201 is what must never be lost."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from youcard.drills.cluster import children_of

ROOT = Path(__file__).resolve().parents[2]


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
        self.process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                "--workers",
                "2",
                "--threads",
                "4",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "--graceful-timeout",
                "2",
                "redeemer:create_app()",
            ],
            env={**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
            cwd=ROOT,
            start_new_session=True,
            stderr=self.log.open("ab"),
        )
        while time.perf_counter() - started < 60:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                connection.close()
                return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def workers(self) -> list[int]:
        """The worker processes (children of the master)."""
        assert self.process is not None
        return children_of(self.process.pid)

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
    """Clients booking 1 cent at a time, each request with a new key, until stopped; every
    answer counted on the client's side (0: no answer, the connection was cut)."""

    port: int
    token: str
    credentials: list[str]
    booked: set[str] = field(default_factory=set)  # keys answered 201
    statuses: dict[int, int] = field(default_factory=dict)
    retry_after: set[str] = field(default_factory=set)  # what 503s said in Retry-After
    times: list[tuple[float, float]] = field(default_factory=list)  # a 201: (asked, answered)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _post(self, connection: http.client.HTTPConnection, key: str, credential: str) -> int:
        body = json.dumps({"credential": credential, "category": "trips", "amount_cents": 1})
        connection.request(
            "POST",
            "/api/v1/bookings",
            body=body,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": key,
                "Content-Type": "application/json",
            },
        )
        answer = connection.getresponse()
        answer.read()
        if answer.status == 503:
            with self.lock:
                self.retry_after.add(answer.getheader("Retry-After") or "")
        return answer.status

    def client(self, n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        i = 0
        while not self.stop.is_set():
            i += 1
            key = f"drill-{n}-{i}"
            asked = time.perf_counter()
            try:
                status = self._post(
                    connection, key, self.credentials[(n * 7 + i) % len(self.credentials)]
                )
            except (OSError, http.client.HTTPException):
                status = 0
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                time.sleep(0.02)
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 201:
                    self.booked.add(key)
                    self.times.append((asked, time.perf_counter()))
            if status not in (0, 201):
                time.sleep(0.02)
        connection.close()

    def first_booking_after(self, moment: float, limit: float = 60) -> float:
        """Seconds from `moment` to the first 201 of a request asked after it."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            with self.lock:
                after = [answered for asked, answered in self.times if asked > moment]
            if after:
                return min(after) - moment
            time.sleep(0.02)
        raise RuntimeError(f"no booking within {limit} s")

    def more(self, n: int, *, refused: bool = False, limit: float = 60) -> None:
        """Wait until `n` more bookings are answered 201, or with `refused` until `n` more
        requests are answered otherwise (no database: 503, or cut)."""

        def count() -> int:
            with self.lock:
                answered = sum(self.statuses.values())
                return answered - len(self.booked) if refused else len(self.booked)

        goal, deadline = count() + n, time.perf_counter() + limit
        while count() < goal:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"not {n} more answers within {limit} s")
            time.sleep(0.02)
