"""Every error as RFC 9457 problem+json with a stable machine `code`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from youcard.errors import (
    Conflict,
    CredentialInvalid,
    DomainError,
    Forbidden,
    IdempotencyKeyReused,
    InvalidRequest,
    NotFound,
    from_integrity_error,
)
from youcard.web.followups import follow_up

PROBLEM_TYPE = "https://youcard.example/problems/"
MEDIA_TYPE = "application/problem+json"

STATUS_BY_CLASS: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (IdempotencyKeyReused, 422),
    (CredentialInvalid, 422),
    (InvalidRequest, 422),
]

log = logging.getLogger("youcard.web")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "database_unavailable",
}


def problem(
    status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> ResponseReturnValue:
    """A problem+json response; `detail`, a sentence for a person, is always there
    (docs/partner-api.md: the title when nothing more specific is known)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
    }
    if "request_id" in g:
        body["request_id"] = g.request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    return response


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error (its own `http_status`, else by its class)."""
    own = getattr(error, "http_status", None)
    if isinstance(own, int):
        return own
    for cls, status in STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 400


def domain_problem(error: DomainError) -> ResponseReturnValue:
    """A refused operation as a problem."""
    extra: dict[str, Any] = {}
    if isinstance(error, CredentialInvalid):
        extra["reason"] = error.reason
    for key in ("available_cents", "available_units", "max_amount_cents", "reason"):
        if key in error.details:
            extra[key] = error.details[key]
    available = error.details.get("available")
    if available is not None:
        extra["available_cents"] = available.cents
        extra["available_units"] = available.units
    response = problem(status_of(error), error.code, error.message, **extra)
    g.problem_code = error.code
    follow_up(error)
    if status_of(error) == 401:
        response.headers["WWW-Authenticate"] = "Bearer"  # type: ignore[union-attr]
    if "retry_after" in error.details:
        response.headers["Retry-After"] = str(error.details["retry_after"])  # type: ignore[union-attr]
    return response


def http_problem(error: HTTPException) -> ResponseReturnValue:
    """A werkzeug HTTP error (404, 405, 413, ...) as a problem; validation messages included."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    code = HTTP_CODES.get(status, "http_error")
    said = messages.get("json") if isinstance(messages, dict) else None
    if status == 400 and isinstance(said, list) and len(said) == 1 and isinstance(said[0], str):
        return problem(400, "invalid_json", "The body cannot be taken.", said[0])
    detail = (
        "Some fields of the request are not valid; `errors` says which."
        if status == 422
        else error.description
    )
    limit = request.max_content_length
    if status == 413 and limit:
        detail = f"The body is larger than {limit:,} bytes, the most this endpoint takes."
    response = problem(
        status,
        code,
        error.name,
        detail,
        errors=messages,
        max_bytes=limit if status == 413 else None,
    )
    for header, value in getattr(error, "get_headers", lambda: [])():
        if header.lower() in ("retry-after", "allow", "www-authenticate"):
            response.headers[header] = value  # type: ignore[union-attr]
    return response


def integrity_problem(error: IntegrityError) -> ResponseReturnValue:
    """A constraint the database enforced (a duplicate from a race, say): 409 or 422, the
    request's writes rolled back, never a 500."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()
    return domain_problem(from_integrity_error(error))


RETRY_AFTER_UNAVAILABLE = "2"  # seconds


def drop_lost_transaction(error: OperationalError) -> None:
    """The database cannot be reached (restarting, failing over, its connections dropped):
    the request's transaction is gone, so nothing of it was written; roll the session back
    as far as it can be. The pool drops the broken connection (pre-ping), and a retry gets a
    new one. Logged by the error's class only (no statement, no values). The answer is a 503
    with Retry-After, never a 500: `unavailable_problem` on the APIs, the error page on pages."""
    session = g.get("db_session")
    if session is not None:
        try:
            session.rollback()
        except SQLAlchemyError:  # the connection is gone: nothing to roll back
            log.debug("rollback after a lost connection failed", exc_info=False)
    log.warning("database unavailable: %s", type(error.orig).__name__)
    g.problem_code = "database_unavailable"


def unavailable_problem(error: OperationalError) -> ResponseReturnValue:
    """The API's answer while the database cannot be reached (`drop_lost_transaction`)."""
    drop_lost_transaction(error)
    response = problem(
        503,
        "database_unavailable",
        "Service unavailable",
        "The database cannot be reached just now; please try again.",
    )
    response.headers["Retry-After"] = RETRY_AFTER_UNAVAILABLE  # type: ignore[union-attr]
    return response


def init_problems(app: Flask) -> None:
    """Answer every error of `app` with problem+json."""
    app.register_error_handler(DomainError, domain_problem)
    app.register_error_handler(IntegrityError, integrity_problem)
    app.register_error_handler(OperationalError, unavailable_problem)
    app.register_error_handler(HTTPException, http_problem)

    @app.errorhandler(500)
    def _internal(_error: Exception) -> ResponseReturnValue:
        return problem(500, "internal_error", "Internal error", "Something went wrong on our side.")
