"""Every route opted into the hot path (`@hot_path`: autocommit, cached device) still writes
atomically (#15.4, STYLE.md habit 13): on PostgreSQL each of its statements runs outside a
transaction, so at most one of them may write, and that one must be atomic on its own."""

from __future__ import annotations

import re

import psycopg
import pytest
from sqlalchemy import event, select

from youcard.domain.models import Booking
from youcard.web.hotpath import HOT_SESSIONS, close_kept_connections, opted_in

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


class _Recorder:
    def __init__(self) -> None:
        self.statements: list[tuple[str, bool]] = []


def hot_routes(app):
    """Every (method, endpoint) that opted in: what the atomicity test walks."""
    return [
        (method, rule.endpoint)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods or ())
        if opted_in(app.view_functions.get(rule.endpoint), method)
    ]


def _tracing(recorder: _Recorder, base: type[psycopg.Cursor]) -> type[psycopg.Cursor]:
    class Tracing(base):  # type: ignore[misc,valid-type]  # observes, then runs the statement
        def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
            recorder.statements.append((str(query), self.connection.autocommit))
            return super().execute(query, params, **kwargs)

        def executemany(self, query, params_seq, **kwargs):  # type: ignore[no-untyped-def]
            recorder.statements.append((str(query), self.connection.autocommit))
            return super().executemany(query, params_seq, **kwargs)

    return Tracing


@pytest.fixture
def traced(app, database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("autocommit and the booking function exist on PostgreSQL only")
    engines = [app.extensions["youcard"].kw["bind"], app.extensions[HOT_SESSIONS].engine]
    recorder = _Recorder()
    cursor = _tracing(recorder, psycopg.Cursor)
    # SQLAlchemy's statements go through the connection's cursor factory; the hot path's
    # DriverStatements through the raw cursor youcard.db keeps per connection
    monkeypatch.setattr("youcard.db.RawCursor", _tracing(recorder, psycopg.RawCursor))

    def connect(dbapi_connection, _record):
        dbapi_connection.cursor_factory = cursor

    for engine in engines:
        engine.dispose()  # new connections only, each with the tracing cursor
        event.listen(engine, "connect", connect)
    yield recorder
    for engine in engines:
        event.remove(engine, "connect", connect)
        engine.dispose()


def _writes(statements: list[tuple[str, bool]]) -> list[str]:
    return [sql for sql, _ in statements if WRITE.match(sql) or "youcard_book(" in sql]


def test_every_hot_route_makes_at_most_one_atomic_write(app, client, world, traced):
    w = world()
    recipes = {
        ("POST", "partner_api.Verify"): lambda: client.post(
            "/api/v1/verify", json={"credential": w.credential}, headers=w.auth
        ),
        ("POST", "partner_api.Bookings"): lambda: client.post(
            "/api/v1/bookings",
            json={"credential": w.credential, "category": "participation", "amount_cents": 500},
            headers={**w.auth, "Idempotency-Key": "hot-1"},
        ),
    }
    # a route marked later must bring its recipe here, and so its proof
    assert set(hot_routes(app)) == set(recipes)
    recipes[("POST", "partner_api.Verify")]()  # the device's "last used" is written once now
    for route, send in recipes.items():
        traced.statements.clear()
        response = send()
        assert response.status_code in (200, 201), (route, response.json)
        assert traced.statements, route
        assert all(autocommit for _sql, autocommit in traced.statements), route
        writes = _writes(traced.statements)
        if route[1] == "partner_api.Bookings":
            assert len(writes) == 1 and "youcard_book(" in writes[0], writes
        else:
            assert writes == [], writes


def test_a_refused_booking_writes_nothing(client, world, traced):
    w = world()
    client.post("/api/v1/verify", json={"credential": w.credential}, headers=w.auth)
    traced.statements.clear()
    r = client.post(
        "/api/v1/bookings",
        json={"credential": w.credential, "category": "participation", "amount_cents": 10**6},
        headers={**w.auth, "Idempotency-Key": "hot-2"},
    )
    assert r.status_code == 409
    # the function's guard refused inside its one call: nothing else was sent to write
    assert [w_ for w_ in _writes(traced.statements) if "youcard_book(" not in w_] == []


def _backend_pid(app) -> int:
    kept = app.extensions[HOT_SESSIONS].local.kept[1]
    return kept.connection.driver_connection.info.backend_pid


def _book(client, w, key):
    return client.post(
        "/api/v1/bookings",
        json={"credential": w.credential, "category": "participation", "amount_cents": 100},
        headers={**w.auth, "Idempotency-Key": key},
    )


@pytest.fixture
def kept_app(database_url, tmp_path, monkeypatch):
    """The redeemer on PostgreSQL (hot sessions exist there only), pinging a connection
    kept idle for more than an hour only: the tests below say when it lay idle."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the hot path's kept connections exist on PostgreSQL only")
    import redeemer
    from tests.factories import NOW

    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    return redeemer.create_app({"DATABASE_URL": database_url, "TESTING": True,
                                "CLOCK": lambda: NOW, "RATELIMIT_ENABLED": False,
                                "DB_PING_IDLE_SECONDS": 3600})  # fmt: skip


def _terminate(admin_url: str, pid: int) -> None:
    from tests.conftest import _libpq

    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]


def test_a_thread_keeps_its_connection_from_request_to_request(kept_app, world):
    w, client = world(), kept_app.test_client()
    assert _book(client, w, "kept-1").status_code == 201  # also writes the device's "last used"
    first = _backend_pid(kept_app)
    kept = kept_app.extensions[HOT_SESSIONS].local.kept[1]
    assert not kept.in_transaction()  # the ORM update's session transaction was ended
    assert kept.connection.driver_connection.info.transaction_status == 0  # idle
    assert _book(client, w, "kept-2").status_code == 201
    assert client.post("/api/v1/verify", json={"credential": w.credential},
                       headers=w.auth).status_code == 200  # fmt: skip
    assert _backend_pid(kept_app) == first  # the same server process served all three


def test_a_kept_connection_the_server_lost_is_replaced(kept_app, world, database_url, committed):
    w, client = world(), kept_app.test_client()
    assert _book(client, w, "lost-1").status_code == 201
    first = _backend_pid(kept_app)
    _terminate(database_url, first)
    answer = _book(client, w, "lost-2")  # found out only by using it: one 503, nothing booked
    assert answer.status_code == 503 and answer.json["code"] == "database_unavailable"
    assert _book(client, w, "lost-3").status_code == 201  # a new connection at once
    assert _backend_pid(kept_app) != first
    with committed() as session:
        keys = session.scalars(
            select(Booking.idempotency_key).where(Booking.partner_id == w.partner_id)
        ).all()
    assert sorted(keys) == ["lost-1", "lost-3"]


def test_a_session_left_clean_serves_the_next_request_and_ends_with_its_connection(
    kept_app, world, database_url
):
    w, client = world(), kept_app.test_client()
    kept = kept_app.extensions[HOT_SESSIONS]
    assert _book(client, w, "reuse-1").status_code == 201  # loads the device with the ORM too
    connection, session = kept.local.session
    assert not session.identity_map and not session.in_transaction()  # left clean
    assert _book(client, w, "reuse-2").status_code == 201
    assert kept.local.session == (connection, session)  # the same session served it
    too_much = client.post(
        "/api/v1/bookings",
        json={"credential": w.credential, "category": "participation", "amount_cents": 10**6},
        headers={**w.auth, "Idempotency-Key": "reuse-refused"},
    )
    assert too_much.status_code == 409
    assert kept.local.session == (connection, session) and not session.identity_map
    _terminate(database_url, _backend_pid(kept_app))
    assert _book(client, w, "reuse-3").status_code == 503
    assert kept.local.session is None  # gone with its connection
    assert _book(client, w, "reuse-4").status_code == 201
    assert kept.local.session[0] is not connection and kept.local.session[1] is not session


def test_a_kept_connection_idle_too_long_is_pinged_first(kept_app, world, database_url):
    w, client = world(), kept_app.test_client()
    assert _book(client, w, "idle-1").status_code == 201
    first = _backend_pid(kept_app)
    _terminate(database_url, first)
    kept = kept_app.extensions[HOT_SESSIONS]
    pid, connection, _last_used = kept.local.kept
    kept.local.kept = (pid, connection, _last_used - 3601)  # as if it lay idle an hour
    assert _book(client, w, "idle-2").status_code == 201  # the ping found it gone: no 503
    assert _backend_pid(kept_app) != first


def test_kept_connections_go_back_to_the_pool_on_request(kept_app, world):
    w, client = world(), kept_app.test_client()
    pool = kept_app.extensions[HOT_SESSIONS].engine.pool
    assert _book(client, w, "close-1").status_code == 201
    assert pool.checkedout() == 1  # kept between requests
    close_kept_connections()  # (as after every test: tests/conftest.py)
    assert pool.checkedout() == 0
    assert _book(client, w, "close-2").status_code == 201  # one is taken again when needed
    assert pool.checkedout() == 1


def test_a_forked_process_leaves_its_parents_kept_connection_alone(kept_app, world):
    import os

    w, client = world(), kept_app.test_client()
    assert _book(client, w, "fork-1").status_code == 201
    parents = _backend_pid(kept_app)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: books on a connection of its own, then leaves at once
        try:
            status = _book(kept_app.test_client(), w, "fork-2").status_code
            os.write(write, f"{status} {_backend_pid(kept_app)}".encode())
        finally:
            os._exit(0)
    os.close(write)
    status, childs = os.read(read, 100).decode().split()
    os.waitpid(child, 0)
    assert status == "201" and int(childs) != parents
    assert _book(client, w, "fork-3").status_code == 201  # the parent's still works
    assert _backend_pid(kept_app) == parents
