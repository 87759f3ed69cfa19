"""#29: a booking refused at the counter tells the family why, in words, once per card,
reason and day: written after the refused request's rollback (which keeps nothing of the
booking), by the API (on PostgreSQL its autocommit hot path) and the scanner page alike."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from tests.factories import NOW
from tests.redeemer.test_api import _book
from tests.redeemer.test_scanner import _book as _book_on_page
from tests.redeemer.test_scanner import _check, _form, _login
from youcard.domain.contacts import OfficeDetails
from youcard.domain.enums import Category
from youcard.domain.models import Booking, Child, Household, OutboxMessage
from youcard.messages.texts import render


def _reachable(committed, w, language="tr"):
    with committed.begin() as session:
        child = session.get(Child, w.child_id)
        household = session.get(Household, child.household_id)
        household.email, household.language = f"familie-{w.child_id}@example.org", language
        child.given_name = "Zeynep"


def _told(committed, w):
    with committed() as session:
        child = session.get(Child, w.child_id)
        return session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.household_id == child.household_id)
            .order_by(OutboxMessage.id)
        ).all()


def test_a_refused_booking_tells_the_family_why_once_a_day(client, world, committed):
    w = world()
    _reachable(committed, w)
    for attempt in range(3):  # the partner tries again: one message
        r = _book(client, w, key=f"k-{attempt}", amount_cents=4501)
        assert (r.status_code, r.json["code"]) == (409, "insufficient_budget")
    (row,) = _told(committed, w)
    facts = json.loads(row.facts)
    assert (row.event, facts["reason"], facts["category"]) == (
        "booking_refused",
        "insufficient_budget",
        "participation",
    )
    with committed() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) is not None
        booked = session.scalar(
            select(func.count()).select_from(Booking).where(Booking.partner_id == w.partner_id)
        )
    assert booked == 0  # the refusal kept nothing of the booking
    text = render(row.event, row.language, facts, OfficeDetails()).text
    assert "Zeynep" in text and "bunun için yeterli bakiye kalmadı" in text
    assert "Dafür ist nicht mehr genug übrig." in text  # German beside it


def test_a_booking_that_goes_through_tells_nothing_and_a_partners_mistake_neither(
    client, world, committed
):
    w = world()
    _reachable(committed, w)
    assert _book(client, w, key="ok", amount_cents=1500).status_code == 201
    refused = _book(client, w, key="lunch", category="lunch", amount_cents=400, units=1)
    assert refused.json["code"] == "category_not_permitted"  # the partner's, not the family's
    assert _book(client, w, key="x", credential="YC1:nonsense").status_code == 422
    assert _told(committed, w) == []


def test_another_reason_or_another_day_is_told_again(app, world, committed):
    w = world()
    _reachable(committed, w)
    client = app.test_client()
    codes = [_book(client, w, key="a", amount_cents=4501).json["code"]]
    codes.append(
        _book(client, w, key="b", amount_cents=100, service_date="2025-12-30").json["code"]
    )
    app.config["CLOCK"] = lambda: NOW + timedelta(days=1)
    codes.append(_book(client, w, key="c", amount_cents=4501).json["code"])
    reasons = [json.loads(row.facts)["reason"] for row in _told(committed, w)]
    assert reasons == codes == ["insufficient_budget", "outside_period", "insufficient_budget"]


def test_the_scanner_page_tells_the_family_too(client, world, counter_user, committed):
    signed_in = world()
    assert _login(client, counter_user(signed_in.partner_id)[0]).status_code == 302
    _reachable(committed, signed_in, language="ar")
    hidden = _form(_check(client, signed_in.credential).get_data(as_text=True))
    page = _book_on_page(client, hidden, amount="45,01", category="participation")
    assert page.status_code == 409  # the partner sees the refusal as before
    (row,) = _told(committed, signed_in)
    assert row.language == "ar" and json.loads(row.facts)["reason"] == "insufficient_budget"
    assert Category.PARTICIPATION.value == json.loads(row.facts)["category"]
