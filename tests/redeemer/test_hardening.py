"""What outside testing found on the redeemer (#14): expired credentials booked, control
characters, deep JSON and years out of range as 500s, problems without `detail`."""

from __future__ import annotations

import re

import pytest

from tests.factories import NOW
from tests.redeemer.conftest import private_key_for
from tests.redeemer.test_api import _book, _spent
from youcard import credentials
from youcard.domain.models import Booking

HTTPS = "https://localhost"
SAME_ORIGIN = {"Referer": "https://localhost/scan"}


def _expired_credential(committed, w) -> str:
    """The world's card, signed again with an `exp` one second in the past (the card itself
    is active and valid for months)."""
    return credentials.encode(
        credentials.Claims(w.issuer_id, 1, int(NOW.timestamp()) - 1, w.serial, (1, 2), 1),
        private_key_for(committed, w.issuer_id),
    )


def test_an_expired_credential_is_refused_by_verify_and_by_booking(client, world, committed):
    """#14.2: booking refuses everything verify refuses, `expired` included."""
    w = world()
    aged = _expired_credential(committed, w)
    r = client.post("/api/v1/verify", json={"credential": aged}, headers=w.auth)
    assert r.json == {"valid": False, "reason": "expired"}
    r = _book(client, w, credential=aged)
    assert (r.status_code, r.json["code"], r.json["reason"]) == (
        422,
        "credential_invalid",
        "expired",
    )
    assert r.json["detail"]
    assert _spent(committed, w.entitlement_ids["participation"]) == 0


def test_the_scanner_page_refuses_an_expired_credential(client, world, committed, counter_user):
    from tests.redeemer.test_scanner import _csrf, _login

    w = world()
    username, _ = counter_user(w.partner_id)
    assert _login(client, username).status_code == 302
    aged = _expired_credential(committed, w)
    r = client.post(
        "/book",
        base_url=HTTPS,
        data={
            "credential": aged,
            "category": "participation",
            "amount": "15,00",
            "idempotency_key": "scan-1",
            "csrf_token": _csrf(client, "/scan"),
        },
        headers={**SAME_ORIGIN, "Accept": "application/json"},
    )
    assert r.status_code == 422 and r.json["error"] == "Karte abgelaufen"
    assert _spent(committed, w.entitlement_ids["participation"]) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/statements/0001-01",
        "/api/v1/statements/9999-12",
        "/api/v1/bookings?from=0001-01-01&to=9999-12-31",
        "/api/v1/bookings?from=2026-01-01&to=9999-12-31",
    ],
)
def test_years_out_of_range_are_422(client, world, path):
    """#14.14."""
    r = client.get(path, headers=world().auth)
    assert r.status_code == 422 and r.mimetype == "application/problem+json" and r.json["detail"]


def test_json_nested_a_thousand_deep_is_400_invalid_json(client, world, committed):
    """#14.13: 2 KB of brackets made a RecursionError and a 500."""
    w = world()
    deep = "[" * 1000 + "]" * 1000
    for path in ("/api/v1/verify", "/api/v1/bookings"):
        r = client.post(
            path,
            data=deep,
            headers={**w.auth, "Content-Type": "application/json", "Idempotency-Key": "d"},
        )
        assert (r.status_code, r.json["code"]) == (400, "invalid_json"), path
        assert r.json["detail"]
    nested = '{"credential": ' + "[" * 40 + "]" * 40 + "}"
    r = client.post(
        "/api/v1/verify", data=nested, headers={**w.auth, "Content-Type": "application/json"}
    )
    assert (r.status_code, r.json["code"]) == (400, "invalid_json")


def test_control_characters_are_refused_everywhere(client, world, committed):
    """#14.12: NUL and other control characters in query strings, forms and JSON texts."""
    w = world()
    r = _book(client, w, reference="Kurs\x00A")
    assert r.status_code == 400 and r.json["code"] == "invalid_json"
    r = client.get("/api/v1/bookings?from=2026-01-01%00", headers=w.auth)
    assert r.status_code == 400 and r.json["detail"]
    r = client.post(
        "/login",
        data={"username": "admin\x00", "password": "x"},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 400
    with committed() as session:
        assert session.query(Booking).filter(Booking.partner_id == w.partner_id).count() == 0


def test_every_problem_has_a_detail(client, world):
    """#14.20: docs/partner-api.md's problem bodies carry `detail`, a sentence for a person."""
    w = world()
    answers = [
        client.post("/api/v1/verify", json={"credential": "x"}),  # 401
        client.get("/api/v1/nowhere", headers=w.auth),  # 404
        client.post("/api/v1/verify", json={"credential": 5}, headers=w.auth),  # 422
        _book(client, w, amount_cents=10**9),  # 422 invalid amount
        _book(client, w, key="k-2", amount_cents=10**6),  # 409 insufficient budget
        client.post(
            "/api/v1/verify", data="{", headers={**w.auth, "Content-Type": "application/json"}
        ),
    ]
    for r in answers:
        assert r.status_code >= 400 and r.mimetype == "application/problem+json"
        assert isinstance(r.json["detail"], str) and re.search(r"\w{3}", r.json["detail"]), r.json
