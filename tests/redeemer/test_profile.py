"""#30: a partner's staff edit its profile on the scanner side (address, district, hours,
accessibility, contact, offers and prices, listed or not); the directory then shows it.
Every value through the office's rules, refused whole in words; every change audited; new
bank details wait for the city (four eyes: the partner asks, an administrator confirms)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.factories import NOW, Factory
from tests.redeemer.test_scanner import HTTPS, SAME_ORIGIN, _csrf, _login
from youcard.domain.enums import Category, Role
from youcard.domain.models import AuditEvent, Issuer, OutboxMessage, Partner, PartnerOffer
from youcard.errors import Forbidden
from youcard.operations import partner_details, partner_profile
from youcard.policy import Counter, Staff
from youcard.reads.directory import directory

FORM = {
    "street": "Ostring 5",
    "postal_code": "59065",
    "city": "Hamm",
    "district": "Mitte",
    "opening_hours": "Mo–Fr 14–18 Uhr\nSa 10–12 Uhr",
    "accessibility": "stufenloser Zugang",
    "contact_person": "Olena Kovalenko",
    "contact_email": "kasse@musikschule.example",
    "phone": "02381 4711",
    "offer_participation": "Geige und Klavier, Einzelunterricht",
    "price_participation": "15 € im Monat",
    "listed": "1",
}


@pytest.fixture
def staff_of_partner(client, world, counter_user):
    w = world()
    username, _ = counter_user(w.partner_id)
    assert _login(client, username).status_code == 302
    return w


def _save(client, **changes):
    data = {**FORM, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(
        "/profile",
        data={**data, "csrf_token": _csrf(client, "/profile")},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )


def _partner(committed, partner_id):
    with committed() as session:
        partner = session.get(Partner, partner_id)
        offers = session.scalars(
            select(PartnerOffer).where(PartnerOffer.partner_id == partner_id)
        ).all()
        return partner, [(o.category, o.description, o.price) for o in offers]


def test_the_profile_is_saved_and_the_directory_lists_it(client, staff_of_partner, committed):
    w = staff_of_partner
    page = client.get("/profile?lang=de", base_url=HTTPS).get_data(as_text=True)
    assert "Ihr Profil" in page and "Soziale und kulturelle Teilhabe" in page
    assert _save(client).status_code == 303
    partner, offers = _partner(committed, w.partner_id)
    assert (partner.listed, partner.district, partner.opening_hours) == (
        True,
        "Mitte",
        "Mo–Fr 14–18 Uhr\nSa 10–12 Uhr",
    )
    assert offers == [
        (Category.PARTICIPATION, "Geige und Klavier, Einzelunterricht", "15 € im Monat")
    ]
    with committed() as session:
        found = directory(session, issuer_id=w.issuer_id, category="participation")
        assert [p.id for p in found.partners] == [w.partner_id]
        assert found.partners[0].contact_person is None  # not published
        changed = session.scalars(
            select(AuditEvent.data).where(
                AuditEvent.action == "partner.profile", AuditEvent.object_id == str(w.partner_id)
            )
        ).one()
    assert "opening_hours" in json.loads(changed)["changed"]
    assert "Olena" not in changed  # the audit names fields, not values


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"district": "Mitte\u202e"}, "Schreibrichtungszeichen"),
        ({"postal_code": "590"}, "fünf Ziffern"),
        ({"price_participation": ""}, "seine Beschreibung und seinen Preis"),
        ({"street": ""}, "mit Ihrer Anschrift"),
        (
            {"offer_trips": "Ausflug", "price_trips": "5 €"},
            "Sie dürfen diese Leistung nicht buchen",
        ),
        ({"opening_hours": "=cmd|' /C calc'!A0"}, "beginnt mit = + - oder @"),
    ],
)
def test_a_value_that_breaks_a_rule_saves_nothing(
    client, staff_of_partner, committed, changes, words
):
    answer = _save(client, **changes)
    assert answer.status_code == 422 and words in answer.get_data(as_text=True)
    partner, offers = _partner(committed, staff_of_partner.partner_id)
    assert (partner.listed, partner.street, offers) == (False, None, [])


def test_a_new_contact_address_is_told_to_both_and_new_bank_details_wait(
    client, staff_of_partner, committed
):
    w = staff_of_partner
    _save(client)
    _save(client, contact_email="buchhaltung@musikschule.example")
    answer = client.post(
        "/profile/iban",
        data={"iban": "DE02 1203 0000 0000 2020 51", "csrf_token": _csrf(client, "/profile")},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert answer.status_code == 303
    with committed() as session:
        partner = session.get(Partner, w.partner_id)
        assert partner.pending_iban == "DE02120300000000202051"
        assert partner.iban == "DE89370400440532013000"  # paid as before until confirmed
        told = session.scalars(
            select(OutboxMessage).where(OutboxMessage.partner_id == w.partner_id)
        ).all()
        admin = Staff.of(
            Factory(session).staff(session.get(Issuer, w.issuer_id), Role.ADMINISTRATOR)
        )
        session.commit()
    assert sorted((m.event, m.address) for m in told) == [
        ("bank_details_asked", "buchhaltung@musikschule.example"),
        ("contact_changed", "buchhaltung@musikschule.example"),
        ("contact_changed", "kasse@musikschule.example"),
    ]
    with committed.begin() as session:  # the city's administrator is the second pair of eyes
        partner_details.confirm_iban_change(session, by=admin, partner_id=w.partner_id, now=NOW)
    assert _partner(committed, w.partner_id)[0].iban == "DE02120300000000202051"
    bad = client.post(
        "/profile/iban",
        data={"iban": "DE02 1203 0000 0000 2020 52", "csrf_token": _csrf(client, "/profile")},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert bad.status_code == 303
    assert _partner(committed, w.partner_id)[0].pending_iban is None


def test_a_device_at_the_counter_does_not_change_the_profile(session, make):
    issuer = make.issuer()
    partner = make.partner(issuer)
    device = Counter(partner.id, partner.name, frozenset(), device_id=1)
    profile = partner_profile.Profile(
        street=None, postal_code=None, city=None, district=None, contact_person=None,
        contact_email=None, phone=None, opening_hours=None, accessibility=None, listed=False,
        contact_public=False, offers={},
    )  # fmt: skip
    with pytest.raises(Forbidden):
        partner_profile.update_profile(session, by=device, profile=profile, now=NOW)
