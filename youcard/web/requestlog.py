"""JSON request logs with a request id; never bodies, credentials or names."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator
from typing import cast

from flask import Flask, Request, g, request
from werkzeug.wrappers import Response

from youcard.web.metrics import observe

logger = logging.getLogger("youcard.requests")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def init_request_log(app: Flask, service: str) -> None:
    """Give each request an id (X-Request-Id, ours or the caller's) and log one JSON line.

    The lines go to stderr (gunicorn collects them) unless logging is configured otherwise;
    YOUCARD_REQUEST_LOG=0 turns them off.
    """
    enabled = str(app.config.get("REQUEST_LOG", "1")).lower() not in ("0", "false", "no")
    if enabled and not app.testing and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False

    @app.before_request
    def _start() -> None:
        given = request.environ.get("HTTP_X_REQUEST_ID")
        context = g._get_current_object()  # one lookup, not one per attribute
        context.request_id = given if given and _REQUEST_ID.fullmatch(given) else new_id()
        context.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        context, asked = g._get_current_object(), cast(Request, request._get_current_object())  # type: ignore[attr-defined]
        response.headers["X-Request-Id"] = context.get("request_id", "")
        route = asked.url_rule.rule if asked.url_rule else None
        seconds = time.perf_counter() - context.get("request_started", 0)
        observe(
            service, asked.method, route, response.status_code, seconds, context.get("problem_code")
        )
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                json.dumps(
                    {
                        "service": service,
                        "request_id": context.get("request_id"),
                        "method": asked.method,
                        "route": route,
                        "status": response.status_code,
                        "ms": round(seconds * 1000, 1),
                        "partner_id": context.get("partner_id"),
                        "device_id": context.get("device_id"),
                        "code": context.get("problem_code"),
                    }
                )
            )
        return response


_ids: tuple[int, str, Iterator[int]] | None = None


def new_id() -> str:
    """A request id unique across processes and hosts: 64 random bits drawn once per
    process, and a counter (uuid4 per request read the kernel's random source each time)."""
    global _ids
    if _ids is None or _ids[0] != os.getpid():  # first, or in a process forked since
        _ids = (os.getpid(), secrets.token_hex(8), itertools.count(1))
    return f"{_ids[1]}{next(_ids[2]):016x}"
