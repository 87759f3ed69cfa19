"""The speed tricks of the partner API's hot path, in one place with one opt-in.

A counter checks cards and books all day; at a lunch peak every millisecond counts. The
routes marked `@hot_path` (today: verify and book) get, and only they:

- **autocommit** on PostgreSQL: each statement commits on its own, no BEGIN and COMMIT round
  trips. Allowed only because every write such a route makes is one atomic statement (the
  booking: one `youcard_book` call); tests/redeemer/test_hot_path.py proves it per route.
  Their sessions come from a pool of their own whose connections are in autocommit from
  the start (switching a pooled connection there and back cost 0.27 ms a request);
- **the device from a short per-process cache** (redeemer.auth): allowed because the
  route's own query checks again that the device is not revoked and its partner may book;
- **lean JSON** (youcard.web.lean_json): a request in order is loaded and answered by the
  route's own schemas without webargs' and flask-smorest's wrappers; anything else goes
  their way, so every refusal is theirs;
- **one kept session and cursor** per thread: the session a request left clean serves the
  thread's next one (`KeptConnections`), and youcard.db's DriverStatements run on a raw
  cursor kept with the connection.

Every JSON API request (`is_api_request`, the one test of "is this the API") also skips the
cookie session and the pages' per-request hooks (Flask-Limiter's: the API counts its own
limit, once; Flask-Login's; Flask-WTF's CSRF check: `skip_page_hooks_for_api`).
Every request of both services skips Flask's asking, of each view and hook it calls, whether
it is a coroutine (`SyncFlask`: there are none; tests/test_apps.py keeps it so).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from flask import Flask, Request, current_app, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from youcard.db import Session, make_engine
from youcard.web.lean_json import lean_json

API_PREFIX = "/api/"
_MARK = "_youcard_hot_path"
_KNOWN = "youcard_hot_path_routes"

F = TypeVar("F", bound=Callable[..., Any])


class SyncFlask(Flask):
    """Flask for an app without async views or hooks. Flask's `ensure_sync` asks inspect, on
    every call of a view or hook (about 20 a request), whether it is a coroutine function;
    here each is handed back as it is."""

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        return func


def hot_path(view: F) -> F:
    """Opt a view (function or MethodView method) into the hot path's tricks. Its every write
    must be a single atomic statement. Put it above flask-smorest's decorators: a view with
    one JSON body and one success answer (`blp.arguments`, `blp.response`) is then served by
    youcard.web.lean_json too."""
    lean = lean_json(view)
    if lean is not None:
        view = lean  # type: ignore[assignment]
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
        hot = known[(endpoint, method)] = opted_in(current_app.view_functions.get(endpoint), method)
    return hot


def opted_in(view: Any, method: str) -> bool:
    """Whether `view` (a function, or a MethodView's `method`) opted in with `@hot_path`."""
    if view is None:
        return False
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, method.lower(), None)
    return bool(getattr(view, _MARK, False))


HOT_SESSIONS = "youcard_hot_sessions"


class KeptConnections:
    """Each thread's own autocommit connection for the hot path, kept from one request to
    the next: a hot request's session is bound to it, so no pool checkout, no checkin and
    no new Connection per request (66 µs of a booking's ~1 ms, measured in-process).

    Safe because every statement on it commits on its own (nothing is left open between
    requests), and because it is given up whenever it might not be sound: when SQLAlchemy
    invalidated it (a lost server: the request was a 503), when the driver reports anything
    but an idle connection after a request, after a fork, and, when it lay idle
    `ping_idle_seconds` (like the pool's own rule), unless a ping answers."""

    def __init__(self, engine: Engine, ping_idle_seconds: float | None) -> None:
        self.engine, self.ping_idle_seconds = engine, ping_idle_seconds
        self.local = threading.local()
        self.lock = threading.Lock()
        self.all: set[Connection] = set()  # every thread's, for close_all
        _EVERY.add(self)

    def session(self) -> Session:
        """A session for this request, on this thread's kept connection: the session the
        thread's last request left clean (`release`), else a new one (making a Session cost
        2 % of a booking)."""
        connection = self._connection()
        last: tuple[Connection, Session] | None = getattr(self.local, "session", None)
        if last is not None and last[0] is connection:
            return last[1]
        session = HotSession(bind=connection, expire_on_commit=False)
        self.local.session = (connection, session)
        return session

    def _connection(self) -> Connection:
        kept: tuple[int, Connection, float] | None = getattr(self.local, "kept", None)
        if kept is not None:
            pid, connection, last_used = kept
            idle = time.monotonic() - last_used
            if pid != os.getpid():  # inherited across a fork: the parent's socket, never
                with self.lock:  # to be closed (or handed out) here; kept from the collector
                    self.all.discard(connection)
                _FORKED_AWAY.append(connection)
                self.local.kept = None
            elif connection.invalidated or connection.closed:
                self._drop(connection)
            elif self.ping_idle_seconds is not None and idle >= self.ping_idle_seconds:
                if self._alive(connection):
                    return connection
                self._drop(connection, invalidate=True)
            else:
                return connection
        connection = self.engine.connect()
        with self.lock:
            self.all.add(connection)
        self.local.kept = (os.getpid(), connection, time.monotonic())
        return connection

    def _alive(self, connection: Connection) -> bool:
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None
        try:
            return bool(self.engine.dialect.do_ping(dbapi_connection))
        except self.engine.dialect.loaded_dbapi.Error:
            return False

    def _drop(self, connection: Connection, *, invalidate: bool = False) -> None:
        self.local.kept = self.local.session = None
        with self.lock:
            self.all.discard(connection)
        with contextlib.suppress(SQLAlchemyError):  # already gone
            if invalidate and not connection.invalidated:
                connection.invalidate()
            connection.close()

    def release(self, session: Session) -> None:
        """End the request's session; keep its connection for the next request if sound."""
        kept: tuple[int, Connection, float] | None = getattr(self.local, "kept", None)
        self.local.session = None  # kept again below only when sound and clean
        try:
            if session.in_transaction() or session.identity_map or session.new or session.deleted:
                session.close()  # autocommit: nothing to roll back, no round trip
            if kept is not None and kept[1].in_transaction():  # a Core statement's autobegin
                kept[1].rollback()  # (the same: SQLAlchemy's bookkeeping only)
        except OperationalError:
            if kept is not None:
                self._drop(kept[1], invalidate=True)
            return
        if kept is None:
            return
        connection = kept[1]
        if connection.invalidated or connection.closed or not _idle(connection):
            self._drop(connection, invalidate=not connection.closed)
            return
        self.local.kept = (kept[0], connection, time.monotonic())
        if session.bind is connection:
            self.local.session = (connection, session)

    def close_all(self) -> None:
        """Close every thread's kept connection (to the pool: the tests, after each test)."""
        with self.lock:
            connections, self.all = self.all, set()
        for connection in connections:
            with contextlib.suppress(SQLAlchemyError):  # already gone
                connection.close()
        self.local = threading.local()


class HotSession(Session):
    """A hot request's session. Its `connection()` is the thread's kept autocommit connection
    itself, with no session transaction begun around it: each statement commits on its own
    anyway, and beginning and ending the session's transaction objects cost 62 µs of a
    booking. An ORM statement (`execute`, loading objects: the device's "last used", the
    trust list, every few seconds) still begins one as usual, and `release` ends it."""

    def connection(self, *args: Any, **kwargs: Any) -> Connection:
        bind = self.bind
        if isinstance(bind, Connection) and not self.in_transaction() and not args and not kwargs:
            return bind
        return super().connection(*args, **kwargs)


_EVERY: weakref.WeakSet[KeptConnections] = weakref.WeakSet()
_FORKED_AWAY: list[Connection] = []  # a parent's connections a child must leave alone


def close_kept_connections() -> None:
    """Close the kept connections of every app in this process."""
    for kept in list(_EVERY):
        kept.close_all()


def _idle(connection: Connection) -> bool:
    """Whether the driver says the connection is idle (no transaction left open)."""
    info = getattr(connection.connection.driver_connection, "info", None)
    status = getattr(info, "transaction_status", None)
    return status is None or int(status) == 0  # psycopg's TransactionStatus.IDLE


def init_hot_sessions(app: Flask, url: str, pool_options: dict[str, Any]) -> None:
    """On PostgreSQL, a second pool for the hot path, its connections in autocommit, one
    kept by each thread (`KeptConnections`)."""
    if url.startswith("postgresql"):
        # Nothing to roll back when a connection comes back: each statement committed.
        engine = make_engine(
            url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, **pool_options
        )
        app.extensions[HOT_SESSIONS] = KeptConnections(
            engine, pool_options.get("ping_idle_seconds")
        )


def use_hot_session() -> None:
    """Let this (hot) request's database session be on this thread's kept autocommit
    connection; SQLite keeps its one transaction per request. Call before the request
    touches the database."""
    kept: KeptConnections | None = current_app.extensions.get(HOT_SESSIONS)
    if kept is None:
        return
    assert "db_session" not in g, "the hot path must choose its session first"
    g.db_session = kept.session()
    g.hot_session = True


def end_hot_session(session: Session) -> bool:
    """At the request's end: release a hot session (True), or leave it to the caller."""
    if not g.get("hot_session"):
        return False
    kept: KeptConnections = current_app.extensions[HOT_SESSIONS]
    kept.release(session)
    return True


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


def _page_hook(hook: Any, owners: tuple[object, ...]) -> bool:
    """Whether `hook` belongs to one of `owners` (Flask-Limiter, Flask-Login: bound methods,
    or a partial of one) or is Flask-WTF's CSRF check (a closure of CSRFProtect.init_app)."""
    owner = getattr(hook, "__self__", None)
    if owner is None and isinstance(hook, partial):  # Flask-Limiter's after_request hook
        owner = hook.args[0] if hook.args else None
    if owner is not None and any(owner is each for each in owners):
        return True
    return getattr(hook, "__qualname__", "").startswith("CSRFProtect.")


def skip_page_hooks_for_api(app: Flask, *owners: object) -> None:
    """Flask-Limiter, Flask-Login and Flask-WTF hook into every request (to count, to renew a
    remember cookie, to check a form's token); the JSON API authenticates by token, is exempt
    from CSRF and counts its own limit once, so their hooks are kept from its requests
    altogether: each list's page hooks become one `pages_only` hook, which asks once whether
    this is an API request. Call when every extension is set up."""
    lists: list[tuple[str, list[Any]]] = [
        ("before", app.before_request_funcs.get(None, [])),
        ("after", app.after_request_funcs.get(None, [])),
        ("teardown", app.teardown_request_funcs.get(None, [])),
    ]
    for kind, hooks in lists:
        pages = [hook for hook in hooks if _page_hook(hook, owners)]
        if not pages:
            continue
        first = hooks.index(pages[0])
        hooks[:] = [hook for hook in hooks if not _page_hook(hook, owners)]
        hooks.insert(first, _pages_only(kind, pages))


def _pages_only(kind: str, pages: list[Callable[..., Any]]) -> Callable[..., Any]:
    if kind == "before":

        def pages_only(*args: Any) -> Any:
            if not is_api_request():
                for hook in pages:
                    answer = hook(*args)
                    if answer is not None:
                        return answer
            return None

    else:  # Flask runs after_request and teardown hooks last registered first

        def pages_only(*args: Any) -> Any:
            if kind == "after":
                response = args[0]
                if not is_api_request():
                    for hook in reversed(pages):
                        response = hook(response)
                return response
            if not is_api_request():
                for hook in reversed(pages):
                    hook(*args)
            return None

    pages_only.pages = pages  # type: ignore[attr-defined]  # what it holds: for the tests
    return pages_only
