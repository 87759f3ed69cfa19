"""The counter without signal, its API part (docs/offline.md): the allowance a device fetches
while online, and the bookings it made offline sent afterwards — booked once, or recorded as
not covered and why, never dropped; the city's offline-risk report. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import NOW, Factory
from tests.redeemer.test_scanner import HTTPS, _login
from youcard.domain.budget import BudgetRule, RuleKind
from youcard.domain.enums import Category, Role
from youcard.domain.models import (
    Booking,
    Entitlement,
    Issuer,
    OfflineAllowance,
    OfflineBooking,
    Partner,
)
from youcard.operations.cards import revoke_card
from youcard.operations.offline import allowance_is_genuine, set_offline_limit
from youcard.policy import Staff
from youcard.reads.offline import offline_risk

HOUR = timedelta(hours=1)
BUDGET = {Category.PARTICIPATION: BudgetRule(RuleKind.TOTAL, 1500)}


def _limit(committed, issuer_id: str, cents: int, category=Category.PARTICIPATION) -> None:
    with committed.begin() as session:
        admin = Factory(session).staff(session.get(Issuer, issuer_id), Role.ADMINISTRATOR)
        set_offline_limit(session, by=Staff.of(admin), category=category, cents=cents, now=NOW)


def _at(app, moment) -> None:
    app.config["CLOCK"] = lambda: moment


def _allowance(client, auth) -> dict:
    answer = client.get("/api/v1/offline-policy", headers=auth)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _send(client, w, allowance, key, *, cents=500, offline_at=NOW - 2 * HOUR, auth=None, **more):
    body = {
        "credential": w.credential,
        "category": "participation",
        "amount_cents": cents,
        "offline_at": offline_at.isoformat(),
        "allowance_id": allowance["id"],
        **more,
    }
    return client.post(
        "/api/v1/offline-bookings", json=body, headers={**(auth or w.auth), "Idempotency-Key": key}
    )


def _records(committed, partner_id: int) -> list[OfflineBooking]:
    with committed() as session:
        return list(
            session.query(OfflineBooking)
            .filter_by(partner_id=partner_id)
            .order_by(OfflineBooking.id)
        )


def _spent(committed, w) -> int:
    with committed() as session:
        return session.get(Entitlement, w.entitlement_ids["participation"]).spent_cents


@pytest.fixture
def offline(app, client, world, committed):
    """A card with 15 € to spend; offline limit 10 € a card and day; the device fetched its
    allowance three hours ago and is online again now."""
    w = world(rules=BUDGET)
    _limit(committed, w.issuer_id, 1000)
    _at(app, NOW - 3 * HOUR)
    allowance = _allowance(client, w.auth)
    _at(app, NOW)
    return w, allowance


def test_the_allowance_names_the_limits_the_servers_time_and_is_signed(
    app, client, world, committed
):
    w = world(partner_categories={Category.PARTICIPATION, Category.LUNCH})
    _limit(committed, w.issuer_id, 1000)
    first = _allowance(client, w.auth)
    assert first["limits"] == [
        {"issuer": w.issuer_id, "category": "lunch", "cents_per_card_day": 0},  # none set: off
        {"issuer": w.issuer_id, "category": "participation", "cents_per_card_day": 1000},
    ]
    assert first["server_time"].startswith("2026-03-16T09:30:00")
    assert first["valid_until"].startswith("2026-03-17T09:30:00")
    assert len(first["signature"]) == 64
    assert _allowance(client, w.auth)["id"] == first["id"]  # asked again within the hour
    _limit(committed, w.issuer_id, 700)
    changed = _allowance(client, w.auth)
    assert changed["id"] != first["id"]
    assert changed["limits"][1]["cents_per_card_day"] == 700
    with committed() as session:
        stored = session.get(OfflineAllowance, changed["id"])
        assert allowance_is_genuine(stored, str(app.config["SECRET_KEY"]).encode())
        stored.limits = stored.limits.replace("700", "9999")
        assert not allowance_is_genuine(stored, str(app.config["SECRET_KEY"]).encode())


def test_an_offline_booking_within_the_allowance_is_booked_once_on_its_day(
    client, committed, offline
):
    w, allowance = offline
    first = _send(client, w, allowance, "off-1")
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["available_cents_after"] == 1000
    assert first.get_json()["service_date"] == "2026-03-16"
    again = _send(client, w, allowance, "off-1")  # the counter sends it again
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _spent(committed, w) == 500
    [record] = _records(committed, w.partner_id)
    assert (record.outcome, record.late, record.booking_id) == (
        "booked",
        False,
        first.get_json()["id"],
    )
    listed = client.get("/api/v1/offline-bookings", headers=w.auth).get_json()["items"]
    assert [(i["outcome"], i["reason"], i["amount_cents"]) for i in listed] == [
        ("booked", None, 500)
    ]


def test_above_the_allowance_for_the_card_and_day_is_not_covered_and_recorded(
    app, client, committed, offline
):
    w, allowance = offline
    assert _send(client, w, allowance, "a", cents=600).status_code == 201
    above = _send(client, w, allowance, "b", cents=600)
    assert above.status_code == 409
    assert (above.get_json()["code"], above.get_json()["reason"]) == (
        "not_covered",
        "above_allowance",
    )
    assert _spent(committed, w) == 600
    assert [(r.outcome, r.reason) for r in _records(committed, w.partner_id)] == [
        ("booked", None),
        ("not_covered", "above_allowance"),
    ]
    # sent again: the same answer, recorded once
    assert _send(client, w, allowance, "b", cents=600).get_json()["reason"] == "above_allowance"
    assert len(_records(committed, w.partner_id)) == 2
    # on the next day the allowance is the card's again
    _at(app, NOW + 20 * HOUR)
    next_day = _send(client, w, allowance, "c", cents=600, offline_at=NOW + 15 * HOUR)
    assert next_day.status_code == 201 and next_day.get_json()["service_date"] == "2026-03-17"


def test_with_offline_booking_off_a_booking_is_not_covered(app, client, world, committed):
    w = world()
    allowance = _allowance(client, w.auth)  # no limit set: 0
    answer = _send(client, w, allowance, "k", offline_at=NOW)
    assert answer.status_code == 409 and answer.get_json()["reason"] == "above_allowance"
    assert _records(committed, w.partner_id)[0].outcome == "not_covered"


def test_money_spent_online_meanwhile_leaves_the_offline_booking_not_covered(
    app, client, committed, offline, counter_user
):
    w, allowance = offline
    online = client.post(
        "/api/v1/bookings",
        json={"credential": w.credential, "category": "participation", "amount_cents": 1200},
        headers={**w.auth, "Idempotency-Key": "online-1"},
    )
    assert online.status_code == 201
    late = _send(client, w, allowance, "off-1", cents=500)
    assert late.status_code == 409
    assert late.get_json()["reason"] == "insufficient_budget"
    assert _spent(committed, w) == 1200  # nothing booked
    [record] = _records(committed, w.partner_id)
    assert (record.outcome, record.reason, record.booking_id) == (
        "not_covered",
        "insufficient_budget",
        None,
    )
    # the partner's staff see it on today's bookings, with what to do
    staff = app.test_client()
    username, _ = counter_user(w.partner_id)
    _login(staff, username)
    page = staff.get("/bookings", base_url=HTTPS).get_data(as_text=True)
    assert "Offline gebucht, nicht gedeckt" in page
    assert "das Budget war inzwischen verbraucht" in page and "16.03.2026" in page


def test_a_card_blocked_before_the_time_of_service_is_not_covered_after_it_counts(
    client, committed, offline
):
    w, allowance = offline
    with committed.begin() as session:
        revoke_card(
            session,
            by=Staff.system(w.issuer_id, "test"),
            card_id=w.card_id,
            reason="verloren",
            now=NOW - 90 * timedelta(minutes=1),
        )
    before = _send(client, w, allowance, "before", offline_at=NOW - 2 * HOUR)
    assert before.status_code == 201  # served at 7:30, blocked at 8:00: it counts
    after = _send(client, w, allowance, "after", offline_at=NOW - HOUR)
    assert after.status_code == 409 and after.get_json()["reason"] == "revoked"


def test_a_booking_arriving_a_day_late_is_booked_and_flagged(app, client, world, committed):
    w = world(rules=BUDGET)
    _limit(committed, w.issuer_id, 1000)
    _at(app, NOW - 30 * HOUR)
    allowance = _allowance(client, w.auth)
    _at(app, NOW)
    answer = _send(client, w, allowance, "late", offline_at=NOW - 28 * HOUR)
    assert answer.status_code == 201
    assert answer.get_json()["service_date"] == "2026-03-15"
    [record] = _records(committed, w.partner_id)
    assert (record.outcome, record.late) == ("booked", True)
    # outside its allowance's 24 hours (the counter's clock was off): not covered
    outside = _send(client, w, allowance, "outside", offline_at=NOW - 31 * HOUR)
    assert outside.status_code == 409 and outside.get_json()["reason"] == "outside_allowance"


def test_two_devices_book_one_card_offline_the_second_ones_excess_is_reported(
    app, client, world, committed
):
    w = world(rules=BUDGET)
    _limit(committed, w.issuer_id, 1000)
    with committed.begin() as session:
        partner = session.get(Partner, w.partner_id)
        _, second_token = Factory(session).device(partner)
    second = {"Authorization": f"Bearer {second_token}"}
    _at(app, NOW - 3 * HOUR)
    one, two = _allowance(client, w.auth), _allowance(client, second)
    assert one["id"] != two["id"]
    _at(app, NOW)
    assert _send(client, w, one, "one", cents=1000).status_code == 201
    excess = _send(client, w, two, "two", cents=1000, auth=second)
    assert excess.status_code == 409 and excess.get_json()["reason"] == "insufficient_budget"
    # the second device's allowance cannot be used by the first
    foreign = _send(client, w, two, "three", cents=100)
    assert foreign.status_code == 422 and foreign.get_json()["code"] == "invalid_allowance"
    with committed() as session:
        reader = Staff.system(w.issuer_id, "test")
        [line] = offline_risk(session, by=reader, month=date(2026, 3, 1))
    assert (line.booked_count, line.booked_cents) == (1, 1000)
    assert (line.not_covered_count, line.not_covered_cents, line.late_count) == (1, 1000, 0)
    assert (line.cards, line.days, line.devices) == (1, 2, 2)
    assert line.bound_cents == 1000 * 1 * 2 * 2


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"offline_at": (NOW + HOUR).isoformat()}, "offline_at_in_future"),
        ({"offline_at": "2026-03-16T08:00:00"}, "invalid_request"),  # no offset
        ({"offline_at": "0001-01-01T00:00:00+00:00"}, "invalid_request"),
        ({"offline_at": "gestern"}, "invalid_request"),
        ({"offline_at": 1773650000}, "invalid_request"),
        ({"allowance_id": "0" * 32}, "invalid_allowance"),
        ({"allowance_id": "x" * 33}, "invalid_request"),
        ({"allowance_id": ["a"]}, "invalid_request"),
        ({"credential": "YC1:NOT-A-CARD"}, "credential_invalid"),
        ({"amount_cents": 0}, "invalid_request"),
        ({"category": "lunch"}, "category_not_permitted"),
        ({"service_date": "2026-03-16"}, "invalid_request"),  # the day follows from offline_at
    ],
)
def test_bad_offline_bookings_are_refused_in_words_and_record_nothing(
    client, committed, offline, change, code
):
    w, allowance = offline
    body = {
        "credential": w.credential,
        "category": "participation",
        "amount_cents": 500,
        "offline_at": (NOW - 2 * HOUR).isoformat(),
        "allowance_id": allowance["id"],
        **change,
    }
    answer = client.post(
        "/api/v1/offline-bookings", json=body, headers={**w.auth, "Idempotency-Key": "bad"}
    )
    assert 400 <= answer.status_code < 500 and answer.get_json()["code"] == code
    assert _records(committed, w.partner_id) == [] and _spent(committed, w) == 0


def test_a_key_sent_again_with_another_booking_is_refused(client, committed, offline):
    w, allowance = offline
    assert _send(client, w, allowance, "same", cents=500).status_code == 201
    other = _send(client, w, allowance, "same", cents=400)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"
    missing = client.post(
        "/api/v1/offline-bookings",
        json={
            "credential": w.credential,
            "category": "participation",
            "amount_cents": 1,
            "offline_at": NOW.isoformat(),
            "allowance_id": allowance["id"],
        },
        headers=w.auth,
    )
    assert missing.get_json()["code"] == "idempotency_key_required"
    with committed() as session:
        assert session.query(Booking).filter_by(partner_id=w.partner_id).count() == 1


def test_another_partners_device_sees_none_of_it(client, committed, offline, other_partner):
    w, allowance = offline
    assert _send(client, w, allowance, "mine").status_code == 201
    theirs = other_partner(w)
    assert client.get("/api/v1/offline-bookings", headers=theirs).get_json()["items"] == []
    stolen = _send(client, w, allowance, "theirs", auth=theirs)
    assert stolen.status_code == 422 and stolen.get_json()["code"] == "invalid_allowance"
