"""The shared vectors through the HTTP API; rate limits; the redeemer runs without the KEK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime

import pytest
import redis

import redeemer
from tests.credentials.test_codec import VECTORS
from tests.factories import NOW, Factory
from youcard import credentials
from youcard.enums import CardStatus, KeyStatus
from youcard.models import Card, Issuer, SigningKey


@pytest.fixture
def vector_world(private_committed):
    """The vectors' issuer with the vectors' public key and the cards their serials name, in
    this test's own database (the issuer's id is fixed: the demo data has it too)."""
    entry = VECTORS["trust_list"][0]
    serials = set()
    for case in VECTORS["cases"]:
        claims = credentials.verify(
            case["credential"], trusted=credentials.TrustedKeys.from_jwks([entry]), now=0
        ).claims
        if claims is not None and claims.issuer == entry["iss"]:
            serials.add(claims.serial)
    with private_committed.begin() as session:
        if session.get(Issuer, entry["iss"]) is None:
            session.add(Issuer(id=entry["iss"], name="Stadt Hamm", created_at=NOW))
            session.add(
                SigningKey(
                    issuer_id=entry["iss"],
                    kid=credentials.b64url_decode(entry["kid"]),
                    public_key=credentials.b64url_decode(entry["x"]),
                    status=KeyStatus.ACTIVE,
                    created_at=NOW,
                )
            )
            make = Factory(session)
            issuer = session.get(Issuer, entry["iss"])
            for serial in sorted(serials):  # a child each: one card in use per child
                child = make.child(issuer)
                session.add(
                    Card(
                        issuer_id=issuer.id,
                        child_id=child.id,
                        serial=serial,
                        version=1,
                        status=CardStatus.ACTIVE,
                        valid_from=date(2026, 1, 1),
                        valid_until=date(2026, 12, 31),
                        issued_at=NOW,
                        categories=3,
                    )
                )
            partner = make.partner(issuer)
            _, token = make.device(partner)
            session.flush()
        else:
            token = None
    return token


def test_every_vector_through_the_verify_endpoint(
    private_database_url, tmp_path, monkeypatch, vector_world, private_committed
):
    assert vector_world is not None  # a database of its own: the issuer cannot be there yet
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    for case in VECTORS["cases"]:
        at = datetime.fromtimestamp(case["now"], UTC)
        app = redeemer.create_app(
            {
                "DATABASE_URL": private_database_url,
                "TESTING": True,
                "CLOCK": lambda at=at: at,
                "RATELIMIT_ENABLED": False,
            }
        )
        client = app.test_client()
        if case.get("revoked_serials_hex"):
            with private_committed.begin() as session:
                for card in session.query(Card).filter(
                    Card.serial.in_([bytes.fromhex(s) for s in case["revoked_serials_hex"]])
                ):
                    card.status = CardStatus.REVOKED
        r = client.post(
            "/api/v1/verify",
            json={"credential": case["credential"]},
            headers={"Authorization": f"Bearer {vector_world}"},
        )
        assert r.status_code == 200, case["name"]
        got = "valid" if r.json["valid"] else r.json["reason"]
        assert got == case["expect"], case["name"]


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


REDIS_URL = os.environ.get("YOUCARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_rate_limits_are_shared_between_workers_through_redis(
    database_url, tmp_path, monkeypatch, world
):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("YOUCARD_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"Redis unreachable in CI: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    w = world()
    prefix = f"youcard-test-{uuid.uuid4().hex}"
    config = {"REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    one = _limited_app(database_url, tmp_path, monkeypatch, **config).test_client()
    two = _limited_app(database_url, tmp_path, monkeypatch, **config).test_client()
    codes = [c.get("/api/v1/bookings", headers=w.auth).status_code for c in (one, two, one, two)]
    assert codes == [200, 200, 200, 429]


def test_the_redeemer_starts_and_verifies_without_the_kek(database_url, world, tmp_path):
    w = world()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOUCARD_")}
    env.update(
        YOUCARD_DATABASE_URL=database_url,
        YOUCARD_INSTANCE_PATH=str(tmp_path),
        YOUCARD_SECRET_KEY="test",
    )
    script = f"""
import json, sys
from datetime import datetime
import redeemer
app = redeemer.create_app({{"CLOCK": lambda: datetime.fromisoformat({NOW.isoformat()!r}),
                            "RATELIMIT_ENABLED": False}})
r = app.test_client().post("/api/v1/verify", json={{"credential": {w.credential!r}}},
                           headers={{"Authorization": "Bearer {w.token}"}})
print(json.dumps({{"valid": r.json["valid"], "keys_loaded": "youcard.keys" in sys.modules}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"valid": True, "keys_loaded": False}
    assert not (tmp_path / "kek").exists()
