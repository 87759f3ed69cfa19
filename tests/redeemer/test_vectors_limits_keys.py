"""The shared vectors through the HTTP API; the redeemer runs without the KEK. (Rate limits:
test_rate_limits.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

import redeemer
from tests.credentials.test_codec import VECTORS
from tests.factories import NOW, Factory
from youcard import credentials
from youcard.domain.enums import CardStatus, KeyStatus
from youcard.domain.models import Card, Issuer, SigningKey


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
keys_loaded = "youcard.credentials.keys" in sys.modules
print(json.dumps({{"valid": r.json["valid"], "keys_loaded": keys_loaded}}))
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
