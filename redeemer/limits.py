"""Rate limits per device token (Redis when YOUCARD_REDIS_URL is set, else per process).

The partner API counts each request once, per token and route, in fixed windows: with
Redis one script call (count, and the window's end when over) on a connection each
thread keeps (`WindowCounter`: Flask-Limiter's and the limits package's own path cost
three times as much, a tenth of a booking); without Redis in Flask-Limiter's memory
storage. Flask-Limiter guards the pages (the scanner's sign-in).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from typing import Any

from flask import Flask, current_app, make_response, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse
from redis import Redis, RedisError
from redis.exceptions import NoScriptError

from youcard.config import limits_storage
from youcard.errors import DomainError
from youcard.web import bearer_token
from youcard.web.hotpath import is_api_request
from youcard.web.html import error_page
from youcard.web.problems import problem

API_BLUEPRINT = "partner_api"
_DEVICE_LIMIT = "youcard_device_limit"
_COUNTER = "youcard_window_counter"


log = logging.getLogger("youcard.limits")


class RateLimited(DomainError):
    """Too many requests from one device; `retry_after` says when to come back (seconds)."""

    code = "rate_limited"
    http_status = 429


class LimitsUnavailable(DomainError):
    """Redis, which counts the requests, cannot be reached: refused, never counted loose."""

    code = "rate_limits_unavailable"
    http_status = 503


# KEYS[1] the window's counter, ARGV[1] the window in ms, ARGV[2] the limit. Returns the
# count, and when over the limit the ms until the window ends (else 0).
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return {n, redis.call('PTTL', KEYS[1])} end
return {n, 0}
"""


class WindowCounter:
    """Fixed-window counts in Redis: one EVALSHA per request, sent on a connection the
    calling thread keeps (redis-py's pool hands one out and takes it back on every call;
    that bookkeeping cost more than the round trip). A connection that fails is dropped and
    the call tried once more on a new one; a second failure is `LimitsUnavailable`."""

    def __init__(self, url: str) -> None:
        self.pool = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).connection_pool
        self.sha = hashlib.sha1(_COUNT.encode(), usedforsecurity=False).hexdigest()
        self.local = threading.local()

    def _connection(self) -> Any:  # redis-py's Connection (its methods are untyped)
        kept: tuple[int, Any] | None = getattr(self.local, "kept", None)
        if kept is None or kept[0] != os.getpid():  # none yet, or inherited across a fork
            kept = (os.getpid(), self.pool.make_connection())
            self.local.kept = kept
        return kept[1]

    def _call(self, key: str, window_ms: int, limit: int) -> tuple[int, int]:
        connection = self._connection()
        connection.send_command("EVALSHA", self.sha, 1, key, window_ms, limit)
        try:
            count, wait_ms = connection.read_response()
        except NoScriptError:  # Redis restarted, or this is its first call: load the script
            connection.send_command("EVAL", _COUNT, 1, key, window_ms, limit)
            count, wait_ms = connection.read_response()
        return int(count), int(wait_ms)

    def hit(self, key: str, window_ms: int, limit: int) -> tuple[bool, int]:
        """Count one request; (within the limit, ms until the window ends when not)."""
        for attempt in (1, 2):
            try:
                count, wait_ms = self._call(key, window_ms, limit)
                return count <= limit, wait_ms
            except (RedisError, OSError) as error:
                self._connection().disconnect()
                self.local.kept = None
                if attempt == 2:
                    log.warning("rate-limit store unavailable: %s", type(error).__name__)
        raise LimitsUnavailable(
            "The request counter cannot be reached just now; please try again.", retry_after=2
        )


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
    route = request.endpoint or request.path
    counter: WindowCounter | None = current_app.extensions.get(_COUNTER)
    if counter is not None:
        window_ms = limit.get_expiry() * 1000
        key = f"{prefix}/api/{_key()}/{route}/{limit.amount}/{window_ms}"
        within, wait_ms = counter.hit(key, window_ms, limit.amount)
        if within:
            return
        retry_after = max(1, math.ceil(wait_ms / 1000))
    else:
        identifiers = (prefix, _key(), route)
        if limiter.limiter.hit(limit, *identifiers):
            return
        reset, _remaining = limiter.limiter.get_window_stats(limit, *identifiers)
        retry_after = max(1, math.ceil(reset - time.time()))
    raise RateLimited(
        f"This device may make {limit} requests; try again later.", retry_after=retry_after
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
        storage_uri=limits_storage(app.config.get("REDIS_URL")),
        key_prefix=prefix,
        # No X-RateLimit-* headers: they cost two more Redis round trips on every request.
        # A refused request still says when to come back (Retry-After).
        headers_enabled=False,
        enabled=app.config.get("RATELIMIT_ENABLED", True),
    )
    device_item: RateLimitItem = parse(device_limit)
    app.extensions[_DEVICE_LIMIT] = (device_item, prefix)
    if app.config.get("REDIS_URL"):
        app.extensions[_COUNTER] = WindowCounter(app.config["REDIS_URL"])

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
