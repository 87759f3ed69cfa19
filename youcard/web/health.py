"""Health (docs/operations.md "Operations"): `/healthz` says the process answers (for the supervisor
and the load balancer's liveness check: no database, so a database outage does not make
every process look dead and restart); `/readyz` says it can serve: the database answers, its
schema is at the newest migration, and Redis answers where it is configured. 503 with the
failing checks otherwise (for the load balancer: take this node out until it is ready)."""

from __future__ import annotations

from typing import Any

import redis
from alembic.script import ScriptDirectory
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from youcard import migrate
from youcard.db import Session
from youcard.web.problems import RETRY_AFTER_UNAVAILABLE

READY_TIMEOUT = 2.0  # seconds a check may take


def _head() -> str | None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return script.get_current_head()


def init_health(app: Flask, service: str, sessions: sessionmaker[Session]) -> None:
    """Add /healthz and /readyz to the app."""
    head = _head()
    redis_url = app.config.get("REDIS_URL") or ""

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify(status="ok", service=service)

    @app.get("/readyz")
    def readyz() -> ResponseReturnValue:
        checks: dict[str, Any] = {}
        try:
            with sessions() as session:
                current = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            checks["database"] = "ok"
            checks["migrations"] = "ok" if current == head else f"at {current}, newest {head}"
        except SQLAlchemyError as error:  # not ready, said as its kind only (no details)
            checks["database"] = f"unreachable ({type(error).__name__})"
            checks["migrations"] = "unknown"
        if redis_url:
            try:
                client = redis.Redis.from_url(
                    redis_url, socket_timeout=READY_TIMEOUT, socket_connect_timeout=READY_TIMEOUT
                )
                client.ping()
                checks["redis"] = "ok"
            except redis.RedisError as error:
                checks["redis"] = f"unreachable ({type(error).__name__})"
        else:
            checks["redis"] = "not used"
        ready = all(value in ("ok", "not used") for value in checks.values())
        body = jsonify(status="ready" if ready else "not ready", service=service, checks=checks)
        if ready:
            return body, 200
        return body, 503, {"Retry-After": RETRY_AFTER_UNAVAILABLE}
