"""The partner API's mandates: made by showing the card (201), listed with their last
instalment, ended by their partner only; bad bodies 422, another partner's mandate 404, a
second one for the same child, category and reference 409; nothing changes on a refusal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.factories import NOW
from youcard.domain.enums import Category
from youcard.domain.models import Booking, Child, Mandate
from youcard.operations.instalments import book_due_instalments

BODY = {"category": "participation", "reference": "Mitglied 0815", "monthly_amount_cents": 1_000,
        "day_of_month": 31}  # fmt: skip


def _mandates(committed, partner_id):
    with committed() as session:
        return session.scalar(
            select(func.count()).select_from(Mandate).where(Mandate.partner_id == partner_id)
        )


def test_make_list_book_and_end_a_mandate(client, world, committed, other_partner):
    w = world()
    made = client.post("/api/v1/mandates", json={"credential": w.credential, **BODY},
                       headers=w.auth)  # fmt: skip
    assert made.status_code == 201, made.json
    mandate = made.json
    assert mandate["next_due"] == "2026-03-31"  # the 31st: March has one
    with committed() as session:
        given_name = session.get(Child, w.child_id).given_name
    assert mandate["holder"] == {"given_name": given_name}  # no family name, no birth date
    twice = client.post("/api/v1/mandates", json={"credential": w.credential, **BODY},
                        headers=w.auth)  # fmt: skip
    assert twice.status_code == 409 and twice.json["code"] == "mandate_exists"

    assert book_due_instalments(committed, lambda: NOW + timedelta(days=16)) >= 1  # 1 April
    listed = client.get("/api/v1/mandates", headers=w.auth).json
    assert [m["id"] for m in listed["items"]] == [mandate["id"]]
    last = listed["items"][0]["last_instalment"]
    assert (last["month"], last["result"]) == ("2026-03", "booked")
    with committed() as session:
        booking = session.get(Booking, last["booking_id"])
        assert (booking.partner_id, booking.reference) == (w.partner_id, "Mitglied 0815")

    stranger = other_partner(w)
    assert client.get("/api/v1/mandates", headers=stranger).json["items"] == []
    foreign = client.post(f"/api/v1/mandates/{mandate['id']}/end", headers=stranger)
    assert foreign.status_code == 404 and foreign.json["code"] == "mandate_not_found"
    ended = client.post(f"/api/v1/mandates/{mandate['id']}/end", headers=w.auth)
    assert ended.status_code == 200 and ended.json["status"] == "ended"
    assert ended.json["next_due"] is None
    assert client.get("/api/v1/mandates?status=active", headers=w.auth).json["items"] == []


def test_bad_mandates_are_refused_and_change_nothing(client, world, committed):
    w = world(partner_categories={Category.PARTICIPATION, Category.LUNCH})
    cases = [
        ({**BODY}, 422),  # no credential
        ({**BODY, "credential": "YC1:xyz"}, 422),  # credential_invalid, reason malformed
        ({**BODY, "credential": w.credential, "category": "trips"}, 403),
        ({**BODY, "credential": w.credential, "category": "lunch"}, 422),
        ({**BODY, "credential": w.credential, "reference": ""}, 422),
        ({**BODY, "credential": w.credential, "monthly_amount_cents": "10"}, 422),
        ({**BODY, "credential": w.credential, "day_of_month": 32}, 422),
        ({**BODY, "credential": w.credential, "valid_from": "2026-99-01"}, 422),
        ({**BODY, "credential": w.credential, "valid_from": "2020-01-01"}, 422),
        ({**BODY, "credential": w.credential, "colour": "red"}, 422),
        ([1, 2], 422),
    ]
    for body, status in cases:
        r = client.post("/api/v1/mandates", json=body, headers=w.auth)
        assert r.status_code == status, (body, r.json)
        assert r.mimetype == "application/problem+json"
    assert _mandates(committed, w.partner_id) == 0
    for bad in ("cursor=!!", "limit=0", "status=gone", "x=1"):
        assert client.get(f"/api/v1/mandates?{bad}", headers=w.auth).status_code == 422
    assert client.post("/api/v1/mandates/999999999/end", headers=w.auth).status_code == 404
    assert client.get("/api/v1/mandates").status_code == 401


def _lunch_world(world, client):
    from youcard.domain.budget import BudgetRule
    from youcard.domain.enums import RuleKind

    w = world(
        categories=(Category.LUNCH,), partner_categories={Category.LUNCH},
        rules={Category.LUNCH: BudgetRule(RuleKind.UNITS, 500, units_per_day=1)},
    )  # fmt: skip
    made = client.post(
        "/api/v1/mandates", headers=w.auth,
        json={"credential": w.credential, "category": "lunch", "reference": "Schüler 17",
              "valid_from": "2026-03-01"},
    )  # fmt: skip
    assert made.status_code == 201, made.json
    return w


def test_a_lunch_list_books_line_by_line_and_the_same_list_again_books_nothing(
    client, world, committed
):
    w = _lunch_world(world, client)
    lines = [
        {"line_id": "2026-03-09-17", "reference": "Schüler 17", "service_date": "2026-03-09",
         "units": 1, "amount_cents": 450},
        {"line_id": "2026-03-10-17", "reference": "Schüler 17", "service_date": "2026-03-10",
         "units": 1, "amount_cents": 450},
        {"line_id": "2026-03-10-17b", "reference": "Schüler 17", "service_date": "2026-03-10",
         "units": 1, "amount_cents": 450},  # a second lunch on one day
        {"line_id": "x-1", "reference": "Schüler 99", "service_date": "2026-03-10",
         "units": 1, "amount_cents": 450},  # no such mandate
        {"line_id": "x-2", "reference": "Schüler 17", "service_date": "2025-12-01",
         "units": 1, "amount_cents": 450},  # before the mandate
        {"line_id": "x-3", "reference": "Schüler 17", "service_date": "2026-03-11",
         "units": 1, "amount_cents": 900},  # above the cap per lunch
    ]  # fmt: skip
    first = client.post("/api/v1/bookings/batch", json={"lines": lines}, headers=w.auth)
    assert first.status_code == 200, first.json
    results = first.json["results"]
    assert [(r["line_id"], r["status"], r["code"]) for r in results] == [
        ("2026-03-09-17", "booked", None),
        ("2026-03-10-17", "booked", None),
        ("2026-03-10-17b", "refused", "daily_limit_reached"),
        ("x-1", "refused", "unknown_reference"),
        ("x-2", "refused", "outside_mandate"),
        ("x-3", "refused", "unit_cap_exceeded"),
    ]
    again = client.post("/api/v1/bookings/batch", json={"lines": lines}, headers=w.auth).json
    assert [r["replayed"] for r in again["results"][:2]] == [True, True]
    assert [r["booking_id"] for r in again["results"][:2]] == [r["booking_id"] for r in results[:2]]
    with committed() as session:
        lunches = session.scalar(
            select(func.count()).select_from(Booking).where(Booking.partner_id == w.partner_id)
        )
        assert lunches == 2


def test_a_line_id_twice_in_one_list_books_once(client, world, committed):
    """The lines of one list are booked as one batch (one round trip for the reads, one for
    the writes): a line repeated further down is its first booking again, a line id reused
    for another lunch is refused, and neither changes what the others booked."""
    w = _lunch_world(world, client)
    line = {"line_id": "2026-03-09-17", "reference": "Schüler 17", "service_date": "2026-03-09",
            "units": 1, "amount_cents": 450}  # fmt: skip
    other_day = {**line, "line_id": "2026-03-10-17", "service_date": "2026-03-10"}
    lines = [line, other_day, line, {**line, "amount_cents": 400}]
    results = client.post("/api/v1/bookings/batch", json={"lines": lines}, headers=w.auth).json
    got = [(r["status"], r["code"], r["replayed"]) for r in results["results"]]
    assert got == [("booked", None, False), ("booked", None, False), ("booked", None, True),
                   ("refused", "idempotency_key_reused", False)], got  # fmt: skip
    first, _, repeated, _ = results["results"]
    assert repeated["booking_id"] == first["booking_id"]
    with committed() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Booking).where(Booking.partner_id == w.partner_id)
            )
            == 2
        )


def test_bad_lists_are_refused_whole_and_book_nothing(client, world, committed):
    w = _lunch_world(world, client)
    line = {"line_id": "a", "reference": "Schüler 17", "service_date": "2026-03-09", "units": 1,
            "amount_cents": 450}  # fmt: skip
    cases = [
        {"lines": []},
        {"lines": [line] * 5_001},
        {"lines": [{**line, "line_id": "with space"}]},
        {"lines": [{**line, "line_id": "x" * 101}]},
        {"lines": [{**line, "amount_cents": "450"}]},
        {"lines": [{**line, "service_date": "2026-02-30"}]},
        {"lines": [{**line, "colour": "red"}]},
        {"lines": "nope"},
    ]
    for body in cases:
        r = client.post("/api/v1/bookings/batch", json=body, headers=w.auth)
        assert r.status_code in (413, 422), (str(body)[:80], r.status_code)
    with committed() as session:
        assert session.scalar(
            select(func.count()).select_from(Booking).where(Booking.partner_id == w.partner_id)
        ) == 0  # fmt: skip


def test_list_lines_against_an_ended_or_another_partners_mandate_are_refused(
    app, client, world, other_partner, committed
):
    from youcard.web.inputs import UPLOADS

    w = _lunch_world(world, client)
    line = {"line_id": "l-1", "reference": "Schüler 17", "service_date": "2026-03-09",
            "units": 1, "amount_cents": 450}  # fmt: skip
    stranger = other_partner(w, {Category.LUNCH})
    theirs = client.post("/api/v1/bookings/batch", json={"lines": [line]}, headers=stranger)
    assert theirs.json["results"][0]["code"] == "unknown_reference"  # not their mandate
    listed = client.get("/api/v1/mandates", headers=w.auth).json["items"]
    client.post(f"/api/v1/mandates/{listed[0]['id']}/end", headers=w.auth)
    ended = client.post("/api/v1/bookings/batch", json={"lines": [line]}, headers=w.auth)
    assert ended.json["results"][0]["code"] == "unknown_reference"  # ended: no more bookings
    app.extensions[UPLOADS]["partner_api.BookingBatch"] = 2_000  # stands for 50 MB
    big = client.post("/api/v1/bookings/batch", json={"lines": [line] * 40}, headers=w.auth)
    assert big.status_code == 413 and big.mimetype == "application/problem+json"
    with committed() as session:
        assert session.scalar(
            select(func.count()).select_from(Booking).where(Booking.partner_id == w.partner_id)
        ) == 0  # fmt: skip
