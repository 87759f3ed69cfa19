"""What outside testing of the second release found in the partner API (issue 27): verify
told any partner who the holder is; duplicate JSON keys were "last one wins"; a control
character or deep nesting was reported as "not valid JSON"."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import NOW, Factory
from youcard.domain.enums import Category
from youcard.domain.models import Booking, Issuer, PartnerServiceRequest


def _other_citys_partner(committed) -> tuple[str, str]:
    """A partner of another city, with its token, that has no permission for `w`'s cards."""
    with committed.begin() as session:
        make = Factory(session)
        partner = make.partner(make.issuer(), {Category.PARTICIPATION})
        _, token = make.device(partner)
        return partner.issuer_id, token


def test_verify_tells_a_partner_nothing_of_a_child_whose_city_has_not_accepted_it(
    client, world, committed
):
    w = world()
    _, token = _other_citys_partner(committed)
    answer = client.post(
        "/api/v1/verify",
        json={"credential": w.credential},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200
    body = answer.json
    assert body["valid"] is True and body["card"]["issuer"] == w.issuer_id
    assert body["holder"] is None and body["entitlements"] == []
    own = client.post("/api/v1/verify", json={"credential": w.credential}, headers=w.auth).json
    assert own["holder"]["given_name"] and own["holder"]["birth_year"] == 2014


def test_a_partner_asks_another_city_to_accept_it(client, world, committed):
    w = world()
    home, token = _other_citys_partner(committed)
    auth = {"Authorization": f"Bearer {token}"}
    asked = client.post("/api/v1/service-requests", json={"issuer": w.issuer_id}, headers=auth)
    assert asked.status_code == 201 and asked.json["issuer"] == w.issuer_id
    again = client.post("/api/v1/service-requests", json={"issuer": w.issuer_id}, headers=auth)
    assert again.status_code == 201 and again.json["requested_at"] == asked.json["requested_at"]
    for nowhere in ("DE-XX-NOPE", home):  # no such issuer; its own
        refused = client.post("/api/v1/service-requests", json={"issuer": nowhere}, headers=auth)
        assert refused.status_code == 404 and refused.json["code"] == "issuer_not_found"
    with committed() as session:
        rows = session.scalars(
            select(PartnerServiceRequest).where(PartnerServiceRequest.issuer_id == w.issuer_id)
        ).all()
        assert len(rows) == 1 and session.get(Issuer, home) is not None


def test_a_key_twice_in_a_body_is_refused_and_nothing_is_booked(client, world, committed):
    w = world()
    raw = (
        f'{{"credential": "{w.credential}", "category": "participation", "amount_cents": 1,'
        ' "amount_cents": 999999}'
    )
    answer = client.post(
        "/api/v1/bookings",
        data=raw,
        headers={**w.auth, "Content-Type": "application/json", "Idempotency-Key": "dup-1"},
    )
    assert answer.status_code == 400 and answer.json["code"] == "invalid_json"
    assert "amount_cents appears twice" in answer.json["detail"]
    with committed() as session:
        assert session.scalar(select(func.count()).select_from(Booking).where(
            Booking.partner_id == w.partner_id)) == 0  # fmt: skip


def test_a_body_that_cannot_be_taken_says_why_in_words(client, world):
    w = world()
    control = client.post(
        "/api/v1/bookings",
        json={"credential": w.credential, "category": "participation", "amount_cents": 1,
              "reference": "Kurs\u0000A"},
        headers={**w.auth, "Idempotency-Key": "ctl-1"},
    )  # fmt: skip
    assert control.status_code == 400
    assert "reference" in control.json["detail"] and "control character" in control.json["detail"]
    deep: object = "x"
    for _ in range(33):
        deep = [deep]
    nested = client.post("/api/v1/verify", json={"credential": deep}, headers=w.auth)
    assert nested.status_code == 400 and "nested deeper than 32" in nested.json["detail"]
    broken = client.post(
        "/api/v1/verify",
        data='{"credential": ',
        headers={**w.auth, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400 and "not valid JSON" in broken.json["detail"]
    assert "line 1" in broken.json["detail"]


def test_a_card_past_its_validity_is_expired_to_verify_as_to_the_booking(client, world, committed):
    """#28.2: verify decided "usable" without the card's validity, the booking with it: a
    card shortened in the database (its QR still says later) showed valid at the counter
    and then failed to book. Both ask youcard.domain.usability.card_refusal now."""
    from datetime import timedelta

    from youcard.domain.models import Card

    w = world()
    with committed.begin() as session:
        card = session.get(Card, w.card_id)
        card.valid_from = NOW.date() - timedelta(days=30)
        card.valid_until = NOW.date() - timedelta(days=1)  # yesterday; its QR says later
    verdict = client.post("/api/v1/verify", json={"credential": w.credential}, headers=w.auth)
    assert verdict.json == {"valid": False, "reason": "expired"}
    booked = client.post(
        "/api/v1/bookings",
        json={"credential": w.credential, "category": "participation", "amount_cents": 100},
        headers={**w.auth, "Idempotency-Key": "past-validity"},
    )
    assert (booked.status_code, booked.json["reason"]) == (422, "expired")
