"""Prometheus metrics (docs/operations.md "Operations"): requests by route and status, their
latency, bookings made and problem answers by code, counted in each process as the request
log line is written; and, read from the database when scraped, the work waiting for the
jobs (uploaded imports, instalments due, audit events not sealed yet) and what every job
did (runs, failures, the last success, from the `job_runs` table: every node's runs).

`/metrics` answers only with the bearer token YOUCARD_METRICS_TOKEN (without it: 404).
Under gunicorn, set PROMETHEUS_MULTIPROC_DIR to an empty folder per start (the systemd unit
does): every worker writes there, and the scrape sums them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

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
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from youcard.clock import berlin_date, utcnow
from youcard.db import Session
from youcard.domain.models import AuditEvent, ImportBatch, JobRun, Mandate

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


_SERIES: dict[tuple[str, str, str, int], tuple[Any, Any, Any]] = {}  # labels -> children


def observe(
    service: str, method: str, route: str | None, status: int, seconds: float, code: str | None
) -> None:
    """Count one answered request (called with the request log line). The labelled series
    are looked up once per process and kept (`labels()` takes a lock and checks its
    arguments every time: 10 µs a request); there are as many as routes and statuses."""
    shown = route or "unmatched"  # never the raw path: ids would make a series each
    key = (service, method, shown, status)
    series = _SERIES.get(key)
    if series is None:
        booked = route == BOOKING_ROUTE and method == "POST" and status == 201
        series = _SERIES[key] = (
            REQUESTS.labels(service, method, shown, str(status)),
            LATENCY.labels(service, shown),
            BOOKINGS.labels(service) if booked else None,
        )
    requests, latency, bookings = series
    requests.inc()
    latency.observe(seconds)
    if code:
        PROBLEMS.labels(service, code).inc()
    if bookings is not None:
        bookings.inc()


def _job_metrics(runs: Sequence[JobRun]) -> Iterator[Metric]:
    """What every scheduled job did, on any node (the `job_runs` table): an alert on
    `time() - youcard_job_last_success_timestamp_seconds` finds a job that stopped."""
    families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
        "runs": CounterMetricFamily("youcard_job_runs", "Runs of a scheduled job", labels=["job"]),
        "failures": CounterMetricFamily(
            "youcard_job_failures", "Runs of a scheduled job that failed", labels=["job"]
        ),
        "done": CounterMetricFamily(
            "youcard_job_done", "Pieces of work a scheduled job did", labels=["job"]
        ),
        "last_ok_at": GaugeMetricFamily(
            "youcard_job_last_success_timestamp_seconds",
            "When a scheduled job last ran without failing (Unix time)",
            labels=["job"],
        ),
        "last_seconds": GaugeMetricFamily(
            "youcard_job_last_duration_seconds", "How long a job's last run took", labels=["job"]
        ),
    }
    for run in runs:
        for field, family in families.items():
            value = getattr(run, field)
            if isinstance(value, datetime):
                value = value.timestamp()
            if value is not None:
                family.add_metric([run.job], float(value))
    yield from families.values()


class WaitingWork(Collector):
    """Read at scrape time: what waits for the jobs."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
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
            runs = session.execute(select(JobRun).order_by(JobRun.job)).scalars().all()
        yield from _job_metrics(runs)
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
