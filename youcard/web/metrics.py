"""Prometheus metrics (DESIGN.md "Operations"): requests by route and status, their
latency, bookings made and problem answers by code, counted in each process as the request
log line is written; and, read from the database when scraped, the work waiting for the
jobs (uploaded imports, instalments due, audit events not sealed yet).

`/metrics` answers only with the bearer token YOUCARD_METRICS_TOKEN (without it: 404).
Under gunicorn, set PROMETHEUS_MULTIPROC_DIR to an empty folder per start (the systemd unit
does): every worker writes there, and the scrape sums them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from datetime import date

from flask import Flask, Response, abort, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from youcard.clock import berlin_date, utcnow
from youcard.db import Session
from youcard.models import AuditEvent, ImportBatch, Mandate

REQUESTS = Counter(
    "youcard_requests", "Requests answered", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "youcard_request_seconds",
    "Time to answer a request",
    ["service", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BOOKINGS = Counter("youcard_bookings", "Bookings written by the partner API", ["service"])
PROBLEMS = Counter("youcard_problems", "Refusals (problem answers) by code", ["service", "code"])
BOOKING_ROUTE = "/api/v1/bookings"


def observe(service: str, method: str, route: str | None, status: int, seconds: float,
            code: str | None) -> None:  # fmt: skip
    """Count one answered request (called with the request log line)."""
    shown = route or "unmatched"  # never the raw path: ids would make a series each
    REQUESTS.labels(service, method, shown, str(status)).inc()
    LATENCY.labels(service, shown).observe(seconds)
    if code:
        PROBLEMS.labels(service, code).inc()
    if route == BOOKING_ROUTE and method == "POST" and status == 201:
        BOOKINGS.labels(service).inc()


class WaitingWork(Collector):
    """Read at scrape time: what waits for the jobs."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        today: date = berlin_date(utcnow())
        with self.sessions() as session:
            imports = session.scalar(
                select(func.count())
                .select_from(ImportBatch)
                .where(ImportBatch.status.in_(("queued", "checking")))
            )
            due = session.scalar(
                select(func.count())
                .select_from(Mandate)
                .where(Mandate.status == "active", Mandate.next_due <= today)
            )
            unsealed = session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))
            )
        for name, text, value in (
            ("youcard_imports_waiting", "Uploaded imports not checked yet", imports),
            ("youcard_instalments_due", "Mandates whose instalment is due", due),
            ("youcard_audit_unsealed", "Audit events not chained yet", unsealed),
        ):
            yield GaugeMetricFamily(name, text, value=float(value or 0))


def init_metrics(app: Flask, sessions: sessionmaker[Session]) -> None:
    """Add the protected /metrics endpoint."""
    token = str(app.config.get("METRICS_TOKEN") or "")
    expected = hashlib.sha256(token.encode()).digest()
    waiting = WaitingWork(sessions)

    @app.get("/metrics")
    def metrics() -> Response:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not token or not hmac.compare_digest(hashlib.sha256(given.encode()).digest(), expected):
            abort(404)  # no token configured, or a wrong one: nothing here
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # summed
            body = generate_latest(registry)
        else:
            body = generate_latest(REGISTRY)
        waiting_registry = CollectorRegistry()
        waiting_registry.register(waiting)
        return Response(body + generate_latest(waiting_registry), mimetype=CONTENT_TYPE_LATEST)
