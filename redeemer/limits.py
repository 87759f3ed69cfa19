"""Rate limits per device token (Flask-Limiter; Redis when YOUCARD_REDIS_URL is set)."""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, make_response, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded

from youcard.web import bearer_token
from youcard.web.html import error_page
from youcard.web.problems import problem


def _key() -> str:
    """Limits count per token (hashed here too: no token in Redis keys), else per address."""
    token = bearer_token()
    if token:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")


def init_limits(app: Flask) -> Limiter:
    """Limits per device from YOUCARD_RATE_LIMIT (default 300 a minute); shared via Redis
    (YOUCARD_REDIS_URL) between workers and instances, else counted in this process."""
    limiter = Limiter(
        key_func=_key,
        app=app,
        default_limits=[app.config.get("RATE_LIMIT", "300/minute")],
        storage_uri=app.config.get("REDIS_URL") or "memory://",
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX", "youcard-redeemer"),
        # No X-RateLimit-* headers: they cost two more Redis round trips on every request.
        # A refused request still says when to come back (Retry-After).
        headers_enabled=False,
        enabled=app.config.get("RATELIMIT_ENABLED", True),
    )

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded) -> ResponseReturnValue:
        current = limiter.current_limit  # read from Redis only now, on the refusal
        reset = current.reset_at if current is not None else None
        retry_after = max(1, math.ceil(reset - time.time())) if reset else 60
        if request.path.startswith("/api/"):
            response = problem(
                429,
                "rate_limited",
                "Too many requests",
                f"This device may make {error.description} requests; try again later.",
            )
        else:
            page, _status = error_page(429)  # type: ignore[misc]
            response = make_response(page, 429)
        response.headers["Retry-After"] = str(retry_after)  # type: ignore[union-attr]
        return response

    app.extensions["youcard_limiter"] = limiter
    return limiter
