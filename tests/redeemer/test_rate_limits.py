"""The partner API's rate limits: per token, a 429 problem with Retry-After (counted per
process without Redis); and the request counter in Redis (redeemer.limits.WindowCounter),
against the real Redis: shared between workers, the window and its Retry-After per device
and route, a connection Redis drops, Redis forgetting the script, and Redis out of reach
(503, nothing booked)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import pytest
import redis
from sqlalchemy import func, select

import issuer
import redeemer
from tests.factories import NOW
from youcard.domain.models import Booking

REDIS_URL = os.environ.get("YOUCARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("YOUCARD_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"Redis unreachable in CI: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    yield client
    client.close()


def _limited_app(database_url, tmp_path, monkeypatch, **config):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    return redeemer.create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "CLOCK": lambda: NOW,
            "RATE_LIMIT": "3/minute",
            **config,
        }
    )


def _app(database_url, tmp_path, monkeypatch, limit, redis_url=REDIS_URL):
    """Limits counted in Redis, under a key prefix of this app's own."""
    prefix = f"youcard-test-{uuid.uuid4().hex}"
    return _limited_app(database_url, tmp_path, monkeypatch, RATE_LIMIT=limit,
                        REDIS_URL=redis_url, RATELIMIT_KEY_PREFIX=prefix)  # fmt: skip


def _kept_port(app) -> int:
    """The local port of the connection this thread keeps to Redis."""
    kept = app.extensions["youcard_window_counter"].local.kept[1]
    return kept._sock.getsockname()[1]


def test_rate_limit_per_token_is_429_problem_with_retry_after(
    database_url, tmp_path, monkeypatch, world
):
    w, v = world(), world()
    client = _limited_app(database_url, tmp_path, monkeypatch, RATE_LIMIT="3/hour").test_client()
    codes = [client.get("/api/v1/bookings", headers=w.auth).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/v1/bookings", headers=w.auth)
    assert r.content_type == "application/problem+json" and r.json["code"] == "rate_limited"
    # the hour's window ends within the hour, and not within a minute of its start
    assert 3000 < int(r.headers["Retry-After"]) <= 3601
    assert "X-RateLimit-Remaining" not in r.headers  # not sent: two Redis round trips each
    assert client.get("/api/v1/bookings", headers=v.auth).status_code == 200  # another device


def test_rate_limits_are_shared_between_workers_through_redis(
    database_url, tmp_path, monkeypatch, world, redis_client
):
    w = world()
    prefix = f"youcard-test-{uuid.uuid4().hex}"
    config = {"REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    one = _limited_app(database_url, tmp_path, monkeypatch, **config).test_client()
    two = _limited_app(database_url, tmp_path, monkeypatch, **config).test_client()
    codes = [c.get("/api/v1/bookings", headers=w.auth).status_code for c in (one, two, one, two)]
    assert codes == [200, 200, 200, 429]


def test_the_window_refuses_with_a_retry_after_its_end_per_device_and_route(
    database_url, tmp_path, monkeypatch, world, redis_client
):
    w, v = world(), world()
    client = _app(database_url, tmp_path, monkeypatch, "3/hour").test_client()
    codes = [client.get("/api/v1/bookings", headers=w.auth).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/v1/bookings", headers=w.auth)
    assert r.content_type == "application/problem+json" and r.json["code"] == "rate_limited"
    assert 3000 < int(r.headers["Retry-After"]) <= 3600  # the hour's window, begun just now
    assert client.get("/api/v1/bookings", headers=v.auth).status_code == 200  # another device
    assert client.get("/api/v1/credit-notes", headers=w.auth).status_code == 200  # another route
    # the key names neither the token nor the device: its SHA-256 only
    keys = [k.decode() for k in redis_client.scan_iter(match="youcard-test-*", count=1000)]
    assert keys and not any(w.token in k or v.token in k for k in keys)


def test_a_window_ends_and_counting_starts_again(
    database_url, tmp_path, monkeypatch, world, redis_client
):
    w = world()
    app = _app(database_url, tmp_path, monkeypatch, "2/second")
    client = app.test_client()
    codes = [client.get("/api/v1/bookings", headers=w.auth).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    for key in redis_client.scan_iter(match=f"{prefix}/*"):
        assert 0 < redis_client.pttl(key) <= 1000  # every counter ends with its window
        redis_client.delete(key)  # as the window's end would (without waiting for it)
    assert client.get("/api/v1/bookings", headers=w.auth).status_code == 200


def test_a_connection_redis_drops_is_replaced_without_a_failed_request(
    database_url, tmp_path, monkeypatch, world, redis_client
):
    w = world()
    app = _app(database_url, tmp_path, monkeypatch, "100/minute")
    client = app.test_client()
    assert client.get("/api/v1/bookings", headers=w.auth).status_code == 200
    first = _kept_port(app)
    assert redis_client.client_kill_filter(_type=None, addr=f"127.0.0.1:{first}") == 1
    assert client.get("/api/v1/bookings", headers=w.auth).status_code == 200
    assert _kept_port(app) != first  # a new connection, kept again
    assert client.get("/api/v1/bookings", headers=w.auth).status_code == 200


def test_redis_forgetting_the_script_costs_nothing(
    database_url, tmp_path, monkeypatch, world, redis_client
):
    w = world()
    client = _app(database_url, tmp_path, monkeypatch, "2/hour").test_client()
    assert client.get("/api/v1/bookings", headers=w.auth).status_code == 200
    redis_client.script_flush()  # as after a Redis restart
    codes = [client.get("/api/v1/bookings", headers=w.auth).status_code for _ in range(2)]
    assert codes == [200, 429]  # loaded again, and the count went on


def test_redis_out_of_reach_is_a_503_and_books_nothing(
    database_url, tmp_path, monkeypatch, world, committed
):
    w = world()
    app = _app(database_url, tmp_path, monkeypatch, "100/minute", "redis://127.0.0.1:1/0")
    r = app.test_client().post(
        "/api/v1/bookings",
        json={"credential": w.credential, "category": "participation", "amount_cents": 100},
        headers={**w.auth, "Idempotency-Key": "k1"},
    )
    assert r.status_code == 503 and r.json["code"] == "rate_limits_unavailable"
    assert r.headers["Retry-After"] == "2"
    with committed() as session:
        booked = session.scalar(
            select(func.count()).select_from(Booking).where(Booking.partner_id == w.partner_id)
        )
    assert booked == 0


@pytest.fixture
def redis_socket(tmp_path):
    """A Redis of this test's own, on a Unix socket only (as beside the app on one host)."""
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("YOUCARD_REQUIRE_POSTGRES") == "1":
            pytest.fail("redis-server is not installed in CI")
        pytest.skip("redis-server is not installed")
    sock = tmp_path / "redis.sock"
    process = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(unix_socket_path=str(sock))
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.RedisError:
            time.sleep(0.05)
    yield f"unix://{sock}", client
    client.close()
    process.terminate()
    process.wait(timeout=10)


def test_redis_on_a_unix_socket_counts_for_both_services(
    database_url, tmp_path, monkeypatch, world, redis_socket
):
    """YOUCARD_REDIS_URL=unix:///…: the API's counter (redis-py) and the pages' limits
    (Flask-Limiter, whose storage calls the same socket `redis+unix://`) both count there,
    and the issuer starts on it too (neither service started with such a URL before)."""
    url, client = redis_socket
    w = world()
    app = _limited_app(database_url, tmp_path, monkeypatch, RATE_LIMIT="2/minute", REDIS_URL=url)
    web = app.test_client()
    codes = [web.get("/api/v1/bookings", headers=w.auth).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    pages = [web.get("/login", base_url="https://localhost").status_code for _ in range(3)]
    assert pages == [200, 200, 429]
    keys = [key.decode() for key in client.scan_iter()]
    assert any("/api/" in key for key in keys) and len(keys) >= 2
    staff = issuer.create_app({"DATABASE_URL": database_url, "TESTING": True, "REDIS_URL": url})
    assert staff.extensions["youcard_limiter"].storage.check()  # it reaches that Redis
