"""The speed tricks of the partner API's hot path, in one place with one opt-in.

A counter checks cards and books all day; at a lunch peak every millisecond counts. The
routes marked `@hot_path` (today: verify and book) get, and only they:

- **autocommit** on PostgreSQL: each statement commits on its own, no BEGIN and COMMIT round
  trips. Allowed only because every write such a route makes is one atomic statement (the
  booking: one `youcard_book` call); tests/redeemer/test_hot_path.py proves it per route;
- **the device from a short per-process cache** (redeemer.auth): allowed because the
  route's own query checks again that the device is not revoked and its partner may book.

Every JSON API request (`is_api_request`, the one test of "is this the API") also skips the
cookie session and Flask-Limiter's per-request check (the API counts its own limit, once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Request, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_limiter import Limiter

from youcard.db import Session

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


def autocommit(session: Session) -> None:
    """On PostgreSQL, let each statement of this request commit on its own (hot path only).
    SQLite keeps its one transaction per request."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


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
