"""Flask glue both apps share: settings, one database session per request, health check."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask, Response, current_app, g
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from youcard import replicated
from youcard.clock import utcnow
from youcard.config import Settings, load_settings
from youcard.db import MAX_ID, Session, make_engine, make_sessionmaker
from youcard.errors import DomainError
from youcard.web.followups import follow_up, pending_follow_ups
from youcard.web.health import init_health
from youcard.web.hotpath import (
    PageSessions,
    close_kept_connections,
    end_hot_session,
    init_hot_sessions,
    nothing_to_end,
)
from youcard.web.inputs import init_input_guard
from youcard.web.metrics import init_metrics
from youcard.web.problems import init_problems, integrity_problem, unavailable_problem
from youcard.web.requestlog import init_request_log
from youcard.web.retry import UnitOfWorkFlask

EXTENSION = "youcard"
log = logging.getLogger("youcard.web")
AFTER_COMMIT = "youcard_after_commit"  # callables(session) run after a request's commit


OUTCOME = "youcard_outcome"  # what a view asked of the unit of work: "undo" or "keep"


def _run_follow_ups(session: Session) -> None:
    """The request's writes are undone (or each committed on its own): what its refusals
    still write, each in a transaction of its own (youcard.web.followups)."""
    for callback in pending_follow_ups():
        try:
            callback(session)
            session.commit()
        except Exception as error:  # noqa: BLE001 - the refusal was answered; this is extra
            session.rollback()  # the error's text may quote its statement's values: not logged
            log.warning("a refusal's follow-up failed: %s", type(error).__name__)


def release_connections() -> None:
    """Give back the connections this process's apps keep between requests (the hot path
    keeps one per thread): when a worker stops (deploy/gunicorn.conf.py), so that the
    database sees them closed rather than cut, and at the end of a test."""
    close_kept_connections()


def undo_writes(refusal: DomainError | None = None) -> None:
    """Undo this request's writes whatever its answer: a refusal shown on a page or by a
    redirect (a success status, which would commit). Views never roll back themselves:
    the unit of work does, at the request's end (and then runs the `refusal`'s follow-up)."""
    setattr(g, OUTCOME, "undo")
    if refusal is not None:
        follow_up(refusal)


def keep_writes() -> None:
    """Keep this request's writes although its answer is an error: a failed sign-in is
    answered 401 or 429, and the attempt counts."""
    if g.get(OUTCOME) != "undo":
        setattr(g, OUTCOME, "keep")


class IdConverter(IntegerConverter):
    """An id in a URL: a whole number from 0 up to the largest BIGINT."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def create_base_app(import_name: str, service: str, config: dict[str, Any] | None = None) -> Flask:
    """A Flask app wired to the YouCard database; `config` overrides settings (tests)."""
    settings: Settings = load_settings()
    app = UnitOfWorkFlask(import_name, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        # Distinct per service: on one host, cookies of both ports would overwrite each other.
        SESSION_COOKIE_NAME=f"youcard_{service}",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=16 * 1024,
    )
    app.config.from_prefixed_env("YOUCARD")
    if config:
        app.config.update(config)
    app.session_interface = PageSessions()
    # Every <int:...> in a URL is an id of ours: larger than BIGINT, the route does not match
    # (404), instead of reaching the database (SQLite raised OverflowError: a 500).
    app.url_map.converters["int"] = IdConverter
    # Behind a reverse proxy, trust exactly the configured number of them (YOUCARD_PROXIES):
    # then the client's address (rate limits, sign-in throttling) and https (HSTS, secure
    # cookies) come from their X-Forwarded-* headers, and a client cannot forge either.
    proxies = int(app.config.get("PROXIES", 0))
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    engine = make_engine(app.config["DATABASE_URL"], **_pool_options(app.config))
    app.extensions[EXTENSION] = make_sessionmaker(engine)
    init_hot_sessions(app, app.config["DATABASE_URL"], _pool_options(app.config))
    init_problems(app)
    init_request_log(app, service)
    init_input_guard(app)

    @app.after_request
    def _end_transaction(response: Response) -> Response:
        # One transaction per request, and this is its only owner: committed when the
        # answer is a success, rolled back when it is an error, so a refused request
        # changes nothing; a view says otherwise only through undo_writes / keep_writes.
        session = g.get("db_session")
        outcome = g.pop(OUTCOME, None)
        if session is None:
            return response
        if nothing_to_end(session):  # every statement committed on its own
            try:
                replicated.check()  # ... and the synchronous standby confirmed each
            except OperationalError as error:
                return app.make_response(unavailable_problem(error))
            _run_follow_ups(session)
            return response
        if outcome == "undo" or (response.status_code >= 400 and outcome != "keep"):
            session.rollback()
            _run_follow_ups(session)
            return response
        if session.in_transaction():
            try:
                session.commit()
            except IntegrityError as error:  # a constraint checked only at commit
                return app.make_response(integrity_problem(error))
            except OperationalError as error:  # the connection was lost at the commit
                return app.make_response(unavailable_problem(error))
        for callback in app.extensions.get(AFTER_COMMIT, []):
            callback(session)
        return response

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None and not end_hot_session(session):
            try:
                session.close()
            except OperationalError:  # its connection is gone (the answer was a 503)
                session.invalidate()

    init_health(app, service, app.extensions[EXTENSION])
    init_metrics(app, app.extensions[EXTENSION])
    return app


def _pool_options(config: dict[str, Any]) -> dict[str, Any]:
    """Pool settings. A pooled connection that lay idle for YOUCARD_DB_PING_IDLE_SECONDS
    (default 10; 0: every time) is checked before use; YOUCARD_DB_PRE_PING=0 never checks
    (a request after a database restart then fails once)."""
    if str(config["DATABASE_URL"]).startswith("sqlite"):
        return {}
    options: dict[str, Any] = {"pool_size": int(config.get("DB_POOL_SIZE", 5))}
    if str(config.get("DB_PRE_PING", "1")).lower() in ("0", "false", "no"):
        options["pool_pre_ping"] = False
    else:
        options["ping_idle_seconds"] = float(config.get("DB_PING_IDLE_SECONDS", 10))
    return options


MAX_TOKEN_LENGTH = 200


def bearer_token() -> str | None:
    """The token of a well-formed `Authorization: Bearer <token>` header, else None."""
    from flask import request

    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


def now() -> datetime:
    """The current time for this request; tests may fix it with config `CLOCK` (a callable)."""
    clock = current_app.config.get("CLOCK")
    value: datetime = clock() if clock is not None else utcnow()
    return value


def db_session() -> Session:
    """The request's database session (one per request, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION]()
    session: Session = g.db_session
    return session
