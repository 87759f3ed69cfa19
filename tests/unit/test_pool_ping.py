"""Pooled PostgreSQL connections are checked after they lay idle, not on every request."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import _libpq
from youcard.db import make_engine


def _backend_of(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(admin_url: str, pid: int) -> None:
    with psycopg.connect(_libpq(admin_url), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and admin.execute(  # polled, not a fixed sleep
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
        ):
            time.sleep(0.02)


def test_a_connection_idle_long_enough_is_checked_and_replaced(postgres_admin_url):
    engine = make_engine(postgres_admin_url, ping_idle_seconds=0.1, pool_size=1)
    try:
        pid = _backend_of(engine)
        _terminate(postgres_admin_url, pid)  # a database restart, say, while it lay idle
        time.sleep(0.2)  # it must lie idle longer than ping_idle_seconds: time, not a state
        assert _backend_of(engine) != pid  # the ping found it gone: a new one, no error
    finally:
        engine.dispose()


def test_a_connection_back_a_moment_ago_is_used_without_a_ping(postgres_admin_url):
    engine = make_engine(postgres_admin_url, ping_idle_seconds=3600, pool_size=1)
    try:
        pid = _backend_of(engine)
        _terminate(postgres_admin_url, pid)
        with pytest.raises(DBAPIError) as failed:  # not pinged: the request finds it gone
            _backend_of(engine)
        assert failed.value.connection_invalidated
        assert _backend_of(engine) != pid  # and the pool has replaced it for the next one
    finally:
        engine.dispose()
