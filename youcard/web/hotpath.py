"""The speed tricks of the partner API's hot path, in one place with one opt-in.

A counter checks cards and books all day; at a lunch peak every millisecond counts. The
routes marked `@hot_path` (today: verify and book) get, and only they:

- **autocommit** on PostgreSQL: each statement commits on its own, no BEGIN and COMMIT round
  trips. Allowed only because every write such a route makes is one atomic statement (the
  booking: one `youcard_book` call); tests/redeemer/test_hot_path.py proves it per route.
  Their sessions come from a pool of their own whose connections are in autocommit from
  the start (switching a pooled connection there and back cost 0.27 ms a request);
- **the device from a short per-process cache** (redeemer.auth): allowed because the
  route's own query checks again that the device is not revoked and its partner may book.

Every JSON API request (`is_api_request`, the one test of "is this the API") also skips the
cookie session and Flask-Limiter's per-request check (the API counts its own limit, once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Request, current_app, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_limiter import Limiter

from youcard.db import Session, make_engine, make_sessionmaker

API_PREFIX = "/api/"
_MARK = "_youcard_hot_path"
_KNOWN = "youcard_hot_path_routes"

F = TypeVar("F", bound=Callable[..., Any])


def hot_path(view: F) -> F:
    """Opt a view (function or MethodView method) into the hot path's tricks. Its every write
    must be a single atomic statement."""
    setattr(view, _MARK, True)
    return view


def is_api_request(req: Request | None = None) -> bool:
    """Whether this request is for a JSON API (token-authenticated, no cookies)."""
    return (req or request).path.startswith(API_PREFIX)


def is_hot_path() -> bool:
    """Whether the current request's view opted in with `@hot_path`."""
    endpoint, method = request.endpoint, request.method
    if endpoint is None:
        return False
    known: dict[tuple[str, str], bool] = current_app.extensions.setdefault(_KNOWN, {})
    hot = known.get((endpoint, method))
    if hot is None:
        hot = known[(endpoint, method)] = _marked(current_app.view_functions.get(endpoint), method)
    return hot


def hot_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, endpoint) that opted in: what the atomicity test walks."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods or ()):
            if _marked(app.view_functions.get(rule.endpoint), method):
                found.append((method, rule.endpoint))
    return found


def _marked(view: Any, method: str) -> bool:
    if view is None:
        return False
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, method.lower(), None)
    return bool(getattr(view, _MARK, False))


HOT_SESSIONS = "youcard_hot_sessions"


def init_hot_sessions(app: Flask, url: str, pool_options: dict[str, Any]) -> None:
    """On PostgreSQL, a second pool for the hot path, its connections in autocommit."""
    if url.startswith("postgresql"):
        # Nothing to roll back when a connection comes back: each statement committed.
        engine = make_engine(
            url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, **pool_options
        )
        app.extensions[HOT_SESSIONS] = make_sessionmaker(engine)


def use_hot_session() -> None:
    """Let this (hot) request's database session come from the autocommit pool; SQLite keeps
    its one transaction per request. Call before the request touches the database."""
    sessions = current_app.extensions.get(HOT_SESSIONS)
    if sessions is None:
        return
    assert "db_session" not in g, "the hot path must choose its session first"
    g.db_session = sessions()
    g.hot_session = True


def nothing_to_end(session: Session) -> bool:
    """Whether the request's session has no transaction to end: a hot session whose every
    statement committed on its own and that holds no pending ORM change (then commit and
    rollback would only cost a trip through the pool's bookkeeping)."""
    return bool(g.get("hot_session")) and not (session.new or session.dirty or session.deleted)


class PageSessions(SecureCookieSessionInterface):
    """Cookie sessions for the pages only: the JSON APIs authenticate by token and never
    use one (opening it on every call cost 3% of a booking's time)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if is_api_request(request):
            return self.null_session_class()
        return super().open_session(app, request)


def skip_limiter_for_api(app: Flask, limiter: Limiter) -> None:
    """Flask-Limiter checks every request in a before_request function; the API counts
    itself once per request, so that function is kept from its requests altogether."""
    checks = app.before_request_funcs.get(None, [])
    for position, check_pages in enumerate(checks):
        if getattr(check_pages, "__self__", None) is limiter:  # none when it is disabled

            def check_unless_api(check: Callable[[], object] = check_pages) -> None:
                if not is_api_request():
                    check()

            checks[position] = check_unless_api
