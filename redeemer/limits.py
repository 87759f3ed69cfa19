"""Rate limits per device token (Flask-Limiter; Redis when YOUCARD_REDIS_URL is set).

The partner API counts each request once, per token and route, straight into
Flask-Limiter's own storage and strategy (one Redis call). Flask-Limiter's
per-request machinery costs more than the booking's own SQL, so it guards only
the pages (the scanner's sign-in).
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app, make_response, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse

from youcard.errors import DomainError
from youcard.web import bearer_token
from youcard.web.hotpath import is_api_request, skip_limiter_for_api
from youcard.web.html import error_page
from youcard.web.problems import problem

API_BLUEPRINT = "partner_api"
_DEVICE_LIMIT = "youcard_device_limit"


class RateLimited(DomainError):
    """Too many requests from one device; `retry_after` says when to come back (seconds)."""

    code = "rate_limited"
    http_status = 429


def _key() -> str:
    """Limits count per token (hashed here too: no token in Redis keys), else per address."""
    token = bearer_token()
    if token:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")


def count_api_request() -> None:
    """Count this partner API request against its device's limit, or raise RateLimited."""
    limiter: Limiter = current_app.extensions["youcard_limiter"]
    if not limiter.enabled:
        return
    limit, prefix = current_app.extensions[_DEVICE_LIMIT]
    identifiers = (prefix, _key(), request.endpoint or request.path)
    if limiter.limiter.hit(limit, *identifiers):
        return
    reset, _remaining = limiter.limiter.get_window_stats(limit, *identifiers)
    raise RateLimited(
        f"This device may make {limit} requests; try again later.",
        retry_after=max(1, math.ceil(reset - time.time())),
    )


def init_limits(app: Flask) -> Limiter:
    """Limits per device from YOUCARD_RATE_LIMIT (default 300 a minute); shared via Redis
    (YOUCARD_REDIS_URL) between workers and instances, else counted in this process."""
    device_limit = app.config.get("RATE_LIMIT", "300/minute")
    prefix = app.config.get("RATELIMIT_KEY_PREFIX", "youcard-redeemer")
    limiter = Limiter(
        key_func=_key,
        app=app,
        default_limits=[device_limit],
        storage_uri=app.config.get("REDIS_URL") or "memory://",
        key_prefix=prefix,
        # No X-RateLimit-* headers: they cost two more Redis round trips on every request.
        # A refused request still says when to come back (Retry-After).
        headers_enabled=False,
        enabled=app.config.get("RATELIMIT_ENABLED", True),
    )
    device_item: RateLimitItem = parse(device_limit)
    app.extensions[_DEVICE_LIMIT] = (device_item, prefix)
    skip_limiter_for_api(app, limiter)

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded) -> ResponseReturnValue:
        current = limiter.current_limit  # read from Redis only now, on the refusal
        reset = current.reset_at if current is not None else None
        retry_after = max(1, math.ceil(reset - time.time())) if reset else 60
        if is_api_request():
            response = problem(
                429,
                "rate_limited",
                "Too many requests",
                f"This device may make {error.description} requests; try again later.",
            )
        else:
            page, _status = error_page(429)
            response = make_response(page, 429)
        response.headers["Retry-After"] = str(retry_after)  # type: ignore[union-attr]
        return response

    app.extensions["youcard_limiter"] = limiter
    return limiter
