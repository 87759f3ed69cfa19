"""The partner API over HTTP: every endpoint, every error code, partner isolation."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from tests.factories import NOW, PERIOD
from tests.redeemer.conftest import private_key_for
from youcard import credentials
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category, PartnerStatus, RuleKind
from youcard.domain.models import (
    Booking,
    Child,
    DeviceToken,
    Entitlement,
    Partner,
    PartnerPermission,
)
from youcard.operations.cards import revoke_card
from youcard.policy import Staff
from youcard.reads import ledger

PROBLEM = "application/problem+json"


def _book(client, w, key="k-1", headers=None, **body):
    payload = {"credential": w.credential, "category": "participation", "amount_cents": 1500}
    payload.update(body)
    return client.post(
        "/api/v1/bookings",
        json=payload,
        headers={**w.auth, "Idempotency-Key": key, **(headers or {})},
    )


def _spent(committed, entitlement_id):
    with committed() as session:
        return session.get(Entitlement, entitlement_id).spent_cents


def _count(committed, w):
    with committed() as session:
        return session.scalar(
            select(func.count()).select_from(Booking).where(Booking.partner_id == w.partner_id)
        )


# --- verify -----------------------------------------------------------------------------


def test_verify_a_valid_card_shows_only_the_partners_categories(client, world, committed):
    w = world()
    with committed() as session:
        given_name = session.get(Child, w.child_id).given_name
    r = client.post("/api/v1/verify", json={"credential": w.credential}, headers=w.auth)
    assert r.status_code == 200
    body = r.json
    assert body["valid"] is True
    assert body["holder"] == {"given_name": given_name, "birth_year": 2014}
    assert set(body["holder"]) == {"given_name", "birth_year"}
    assert body["card"]["serial"] == w.serial.hex() and body["card"]["issuer"] == w.issuer_id
    assert [(e["category"], e["available_cents"]) for e in body["entitlements"]] == [
        ("participation", 4500)
    ]
    assert body["entitlements"][0]["valid_until"] == PERIOD[1].isoformat()
    assert "family_name" not in r.get_data(as_text=True)


def test_verify_failures_are_200_with_their_reason(client, world, committed):
    w = world()
    signer = private_key_for(committed, w.issuer_id)
    aged = credentials.encode(
        credentials.Claims(w.issuer_id, 1, int(NOW.timestamp()) - 1, w.serial, (1,), 1), signer
    )
    foreign = credentials.encode(
        credentials.Claims("XX-NOWHERE", 1, 4102444800, w.serial, (1,), 1), signer
    )
    unlisted = credentials.encode(
        credentials.Claims(w.issuer_id, 1, 4102444800, w.serial, (1,), 1),
        Ed25519PrivateKey.generate(),
    )
    flipped = w.credential[:-3] + ("0" if w.credential[-3] != "0" else "1") + w.credential[-2:]
    cases = {
        "malformed": "https://example.org/",
        "unknown_issuer": foreign,
        "unknown_key": unlisted,
        "bad_signature": flipped,
        "expired": aged,
    }
    for reason, text in cases.items():
        r = client.post("/api/v1/verify", json={"credential": text}, headers=w.auth)
        assert (r.status_code, r.json) == (200, {"valid": False, "reason": reason}), reason
    with committed.begin() as session:
        revoke_card(
            session,
            card_id=w.card_id,
            by=Staff.system(w.issuer_id, "t"),
            reason="verloren",
            now=NOW,
        )
    r = client.post("/api/v1/verify", json={"credential": w.credential}, headers=w.auth)
    assert r.json == {"valid": False, "reason": "revoked"}


def test_another_issuers_key_cannot_vouch_for_this_issuers_card(client, world, committed):
    a, b = world(), world()
    forged = credentials.encode(
        credentials.Claims(b.issuer_id, 1, 4102444800, a.serial, (1,), 1),
        private_key_for(committed, b.issuer_id),
    )
    r = client.post("/api/v1/verify", json={"credential": forged}, headers=b.auth)
    assert r.json == {"valid": False, "reason": "revoked"}
    r = _book(client, b, credential=forged)
    assert (r.status_code, r.json["code"], r.json["reason"]) == (
        422,
        "credential_invalid",
        "revoked",
    )
    assert _spent(committed, a.entitlement_ids["participation"]) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer " + "x" * 300},
    ],
)
def test_no_or_a_wrong_token_is_401(client, world, headers):
    w = world()
    r = client.post("/api/v1/verify", json={"credential": w.credential}, headers=headers)
    assert r.status_code == 401 and r.content_type == PROBLEM
    assert r.json["code"] == "unauthorized" and r.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_token_and_a_suspended_partner_are_refused(client, world, committed):
    w = world()
    with committed.begin() as session:
        session.execute(
            DeviceToken.__table__.update()
            .where(DeviceToken.partner_id == w.partner_id)
            .values(revoked_at=NOW)
        )
    assert client.get("/api/v1/bookings", headers=w.auth).status_code == 401
    v = world()
    with committed.begin() as session:
        session.get(Partner, v.partner_id).status = PartnerStatus.SUSPENDED
    r = client.get("/api/v1/bookings", headers=v.auth)
    assert (r.status_code, r.json["code"]) == (403, "partner_inactive")


def _verify(client, w):
    return client.post("/api/v1/verify", json={"credential": w.credential}, headers=w.auth)


def test_checking_and_booking_refuse_a_device_at_once_though_its_lookup_is_cached(
    client, world, committed
):
    """Verify and booking reuse a device lookup for a while (redeemer.auth); their own query
    must still refuse a revoked token, a suspended partner and a withdrawn permission."""
    w, v, u = world(), world(), world()  # made first: the trust list is cached a few seconds
    for each in (w, v, u):
        assert _verify(client, each).json["valid"] is True  # the device is now in the cache
    with committed.begin() as session:
        session.execute(
            DeviceToken.__table__.update()
            .where(DeviceToken.partner_id == w.partner_id)
            .values(revoked_at=NOW)
        )
    r = _verify(client, w)
    assert (r.status_code, r.json["code"]) == (401, "unauthorized")
    r = _book(client, w, key="after-token-revoked")
    assert (r.status_code, r.json["code"]) == (401, "unauthorized")

    assert _book(client, v, key="before").status_code == 201
    with committed.begin() as session:
        session.get(Partner, v.partner_id).status = PartnerStatus.SUSPENDED
    r = _verify(client, v)
    assert (r.status_code, r.json["code"]) == (403, "partner_inactive")
    r = _book(client, v, key="after-suspended")
    assert (r.status_code, r.json["code"]) == (403, "partner_inactive")

    assert [e["category"] for e in _verify(client, u).json["entitlements"]] == ["participation"]
    with committed.begin() as session:
        session.execute(
            PartnerPermission.__table__.delete().where(PartnerPermission.partner_id == u.partner_id)
        )
    assert _verify(client, u).json["entitlements"] == []
    r = _book(client, u, key="after-permission-withdrawn")
    assert (r.status_code, r.json["code"]) == (403, "category_not_permitted")
    for world_ in (w, v, u):
        assert _spent(committed, world_.entitlement_ids["participation"]) == (
            1500 if world_ is v else 0
        )


def test_last_use_of_a_token_is_recorded(client, world, committed):
    w = world()
    client.get("/api/v1/bookings", headers=w.auth)
    with committed() as session:
        used = session.scalar(
            select(DeviceToken.last_used_at).where(DeviceToken.partner_id == w.partner_id)
        )
    assert used is not None


# --- bookings ---------------------------------------------------------------------------


def test_booking_is_201_with_what_is_left_and_a_retry_is_the_same_booking(client, world, committed):
    w = world()
    first = _book(client, w, reference="Beitrag März")
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    assert first.json["available_cents_after"] == 3000 and first.json["status"] == "booked"
    again = _book(client, w, reference="Beitrag März")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"]
    assert _spent(committed, w.entitlement_ids["participation"]) == 1500
    other = _book(client, w, amount_cents=1000)
    assert (other.status_code, other.json["code"]) == (422, "idempotency_key_reused")


def test_insufficient_budget_is_409_and_changes_nothing(client, world, committed):
    w = world()
    r = _book(client, w, amount_cents=4501)
    assert (r.status_code, r.json["code"], r.json["available_cents"]) == (
        409,
        "insufficient_budget",
        4500,
    )
    assert _count(committed, w) == 0 and _spent(committed, w.entitlement_ids["participation"]) == 0


def test_category_not_permitted_is_403(client, world, committed):
    w = world()
    r = _book(client, w, category="lunch", amount_cents=400, units=1)
    assert (r.status_code, r.json["code"]) == (403, "category_not_permitted")
    assert _count(committed, w) == 0


def test_a_failing_credential_is_422_with_its_reason(client, world, committed):
    w = world()
    r = _book(client, w, credential="YC1:nonsense")
    assert (r.status_code, r.json["code"], r.json["reason"]) == (
        422,
        "credential_invalid",
        "malformed",
    )
    with committed.begin() as session:
        revoke_card(
            session,
            card_id=w.card_id,
            by=Staff.system(w.issuer_id, "t"),
            reason="verloren",
            now=NOW,
        )
    r = _book(client, w, key="after-revoke")
    assert (r.status_code, r.json["reason"]) == (422, "revoked")
    assert _count(committed, w) == 0


def test_a_booking_made_before_the_card_was_revoked_replays(client, world, committed):
    w = world()
    first = _book(client, w)
    with committed.begin() as session:
        revoke_card(
            session,
            card_id=w.card_id,
            by=Staff.system(w.issuer_id, "t"),
            reason="verloren",
            now=NOW,
        )
    again = _book(client, w)
    assert again.status_code == 201 and again.json["id"] == first.json["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount_cents": "15"}, "amount_cents"),
        ({"amount_cents": 15.5}, "amount_cents"),
        ({"amount_cents": True}, "amount_cents"),
        ({"amount_cents": 0}, "amount_cents"),
        ({"amount_cents": -100}, "amount_cents"),
        ({"category": "school_supplies"}, "category"),
        ({"units": 0}, "units"),
        ({"service_date": "yesterday"}, "service_date"),
        ({"reference": "x" * 141}, "reference"),
        ({"partner_id": 7}, "partner_id"),
        ({"credential": None}, "credential"),
        ({"credential": "x" * 700}, "credential"),
    ],
)
def test_wrong_types_and_unknown_fields_are_422_and_change_nothing(
    client, world, committed, body, field
):
    w = world()
    r = _book(client, w, **body)
    assert r.status_code == 422 and r.content_type == PROBLEM
    assert r.json["code"] == "invalid_request" and field in r.json["errors"]["json"]
    assert _count(committed, w) == 0


def test_missing_idempotency_key_bad_json_and_huge_bodies(client, world, committed):
    w = world()
    r = client.post(
        "/api/v1/bookings",
        json={"credential": w.credential, "category": "participation", "amount_cents": 100},
        headers=w.auth,
    )
    assert (r.status_code, r.json["code"]) == (422, "idempotency_key_required")
    r = _book(client, w, key="")
    assert (r.status_code, r.json["code"]) == (422, "invalid_idempotency_key")
    r = client.post(
        "/api/v1/bookings",
        data="{not json",
        headers={**w.auth, "Idempotency-Key": "a", "Content-Type": "application/json"},
    )
    assert (r.status_code, r.json["code"]) == (400, "invalid_json")
    r = client.post(
        "/api/v1/bookings",
        data="[" + "1," * 20000 + "1]",
        headers={**w.auth, "Idempotency-Key": "b", "Content-Type": "application/json"},
    )
    assert (r.status_code, r.json["code"]) == (413, "body_too_large")
    r = client.post("/api/v1/bookings", json=[1, 2], headers={**w.auth, "Idempotency-Key": "c"})
    assert r.status_code == 422
    assert _count(committed, w) == 0


def test_units_and_a_second_lunch(client, world):
    w = world(partner_categories={Category.LUNCH})
    ok = _book(client, w, category="lunch", amount_cents=450, units=1)
    assert ok.status_code == 201 and ok.json["units"] == 1
    second = _book(client, w, key="k-2", category="lunch", amount_cents=450, units=1)
    assert (second.status_code, second.json["code"]) == (409, "daily_limit_reached")


# --- cancel, list, statements -----------------------------------------------------------


def test_cancel_twice_gives_back_once_and_other_partners_get_404(
    client, world, other_partner, committed
):
    w = world()
    booked = _book(client, w, amount_cents=2000).json
    stranger = other_partner(w)
    r = client.post(f"/api/v1/bookings/{booked['id']}/cancel", headers=stranger)
    assert (r.status_code, r.json["code"]) == (404, "booking_not_found")
    for _ in range(2):
        r = client.post(f"/api/v1/bookings/{booked['id']}/cancel", headers=w.auth)
        assert r.status_code == 200 and r.json["status"] == "cancelled"
        assert r.json["available_cents_after"] == 4500
    assert _spent(committed, w.entitlement_ids["participation"]) == 0
    assert client.post("/api/v1/bookings/999999999/cancel", headers=w.auth).status_code == 404
    assert client.post("/api/v1/bookings/abc/cancel", headers=w.auth).status_code == 404
    # Found by schemathesis: an id beyond BIGINT was a 500.
    assert client.post(f"/api/v1/bookings/{2**63}/cancel", headers=w.auth).status_code == 404
    with committed() as session:
        assert ledger.check(session, w.issuer_id) == []


def test_the_list_is_the_partners_own_newest_first_with_a_cursor(client, world, other_partner):
    w = world(rules={Category.PARTICIPATION: BudgetRule(RuleKind.TOTAL, 100_000)})
    ids = [_book(client, w, key=f"k{i}", amount_cents=100 + i).json["id"] for i in range(5)]
    stranger = other_partner(w)
    _book(client, w, key="theirs", headers=stranger, amount_cents=100)
    assert client.get("/api/v1/bookings", headers=stranger).json["items"][0]["amount_cents"] == 100
    seen, cursor = [], None
    while True:
        url = "/api/v1/bookings?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=w.auth).json
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    day = NOW.date().isoformat()
    assert (
        len(client.get(f"/api/v1/bookings?from={day}&to={day}", headers=w.auth).json["items"]) == 5
    )
    assert client.get("/api/v1/bookings?from=2026-03-17", headers=w.auth).json["items"] == []
    r = client.get("/api/v1/bookings?cursor=!!", headers=w.auth)
    assert (r.status_code, r.json["code"]) == (422, "invalid_cursor")
    r = client.get("/api/v1/bookings?limit=0", headers=w.auth)
    assert r.status_code == 422
    r = client.get("/api/v1/bookings?colour=red", headers=w.auth)
    assert r.status_code == 422


def test_statement_sums_bookings_and_cancellations_of_the_month(client, world, other_partner):
    w = world()
    a = _book(client, w, key="a", amount_cents=1500).json
    _book(client, w, key="b", amount_cents=700)
    client.post(f"/api/v1/bookings/{a['id']}/cancel", headers=w.auth)
    _book(client, w, key="x", headers=other_partner(w), amount_cents=999)
    s = client.get("/api/v1/statements/2026-03", headers=w.auth).json
    assert s["lines"] == [
        {
            "category": "participation",
            "bookings": 2,
            "booked_cents": 2200,
            "cancellations": 1,
            "cancelled_cents": 1500,
            "net_cents": 700,
        }
    ]
    assert s["total_cents"] == 700 and s["month"] == "2026-03"
    assert client.get("/api/v1/statements/2026-04", headers=w.auth).json["lines"] == []
    for bad in ("2026-13", "2026-3", "march", "0001-01", "9999-12"):  # #14.14: 422, never 500
        r = client.get(f"/api/v1/statements/{bad}", headers=w.auth)
        assert (r.status_code, r.json["code"]) == (422, "invalid_month") and r.json["detail"]


# --- trust list, revocations, OpenAPI -------------------------------------------------


def test_trust_list_and_revocations_cover_only_the_partners_issuers(client, world, committed):
    w, other = world(), world()
    keys_listed = client.get("/api/v1/trust-list", headers=w.auth).json["keys"]
    assert {k["iss"] for k in keys_listed} == {w.issuer_id}
    trusted = credentials.TrustedKeys.from_jwks(keys_listed)
    assert credentials.verify(w.credential, trusted=trusted, now=int(NOW.timestamp())).valid
    start = client.get("/api/v1/revocations?since=0&limit=5000", headers=w.auth).json["last_seq"]
    for x in (w, other):
        with committed.begin() as session:
            revoke_card(
                session, card_id=x.card_id, by=Staff.system(x.issuer_id, "t"), reason="weg", now=NOW
            )
    page = client.get(f"/api/v1/revocations?since={start}", headers=w.auth).json
    assert [item["serial"] for item in page["items"]] == [w.serial.hex()]
    assert (
        client.get(f"/api/v1/revocations?since={page['last_seq']}", headers=w.auth).json["items"]
        == []
    )
    assert client.get("/api/v1/revocations?since=-1", headers=w.auth).status_code == 422


def test_openapi_documents_every_route_and_the_problem_format(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/api/v1/service-requests",
        "/api/v1/verify",
        "/api/v1/bookings",
        "/api/v1/bookings/{booking_id}/cancel",
        "/api/v1/statements/{month}",
        "/api/v1/credit-notes",
        "/api/v1/credit-notes/{payment_id}.pdf",
        "/api/v1/trust-list",
        "/api/v1/revocations",
        "/api/v1/mandates",
        "/api/v1/mandates/{mandate_id}/end",
        "/api/v1/bookings/batch",
        "/api/v1/offline-policy",
        "/api/v1/offline-bookings",
    }
    assert "Problem" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["deviceToken"]["scheme"] == "bearer"


def test_security_headers_and_request_ids(client, world):
    w = world()
    r = client.get("/api/v1/bookings", headers={**w.auth, "X-Request-Id": "abc-12345678"})
    assert r.headers["X-Request-Id"] == "abc-12345678"
    assert (
        r.headers["X-Content-Type-Options"] == "nosniff"
        and r.headers["Cache-Control"] == "no-store"
    )
    r = client.get("/api/v1/bookings", headers={**w.auth, "X-Request-Id": "<script>"})
    assert r.headers["X-Request-Id"] != "<script>" and len(r.headers["X-Request-Id"]) == 32
    given = {
        client.get("/api/v1/bookings", headers=w.auth).headers["X-Request-Id"] for _ in range(3)
    }
    assert len(given) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", each) for each in given)


def test_logs_carry_no_credential_and_no_names(client, world, caplog):
    import logging

    w = world()
    with caplog.at_level(logging.INFO, logger="youcard.requests"):
        client.post("/api/v1/verify", json={"credential": w.credential}, headers=w.auth)
        _book(client, w)
    text = caplog.text
    assert '"route": "/api/v1/verify"' in text and '"status": 201' in text
    assert w.credential[4:40] not in text and w.token not in text and "Kind" not in text
