"""Every route opted into the hot path (`@hot_path`: autocommit, cached device) still writes
atomically (#15.4, STYLE.md habit 13): on PostgreSQL each of its statements runs outside a
transaction, so at most one of them may write, and that one must be atomic on its own."""

from __future__ import annotations

import re

import psycopg
import pytest
from sqlalchemy import event

from youcard.web.hotpath import HOT_SESSIONS, hot_routes

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


class _Recorder:
    def __init__(self) -> None:
        self.statements: list[tuple[str, bool]] = []


def _tracing(recorder: _Recorder) -> type[psycopg.Cursor]:
    class TracingCursor(psycopg.Cursor):  # observes, then runs the real statement
        def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
            recorder.statements.append((str(query), self.connection.autocommit))
            return super().execute(query, params, **kwargs)

    return TracingCursor


@pytest.fixture
def traced(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("autocommit and the booking function exist on PostgreSQL only")
    engines = [app.extensions[name].kw["bind"] for name in ("youcard", HOT_SESSIONS)]
    recorder = _Recorder()
    cursor = _tracing(recorder)

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
