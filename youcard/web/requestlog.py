"""JSON request logs with a request id; never bodies, credentials or names."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from flask import Flask, g, request
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
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        route = request.url_rule.rule if request.url_rule else None
        seconds = time.perf_counter() - g.get("request_started", 0)
        observe(service, request.method, route, response.status_code, seconds,
                g.get("problem_code"))  # fmt: skip
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                json.dumps(
                    {
                        "service": service,
                        "request_id": g.get("request_id"),
                        "method": request.method,
                        "route": route,
                        "status": response.status_code,
                        "ms": round(seconds * 1000, 1),
                        "partner_id": g.get("partner_id"),
                        "device_id": g.get("device_id"),
                        "code": g.get("problem_code"),
                    }
                )
            )
        return response
