"""#30: partners apply themselves on a public form; an administrator approves (the partner,
its offers, its first login; the one-time password by e-mail and shown once) or refuses
with a reason; every bad input is refused in words and keeps nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import KEK, NOW, Factory
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS
from youcard.domain.enums import Category, PartnerStatus, Role
from youcard.domain.models import (
    AuditEvent,
    OutboxMessage,
    Partner,
    PartnerApplication,
    PartnerOffer,
    PartnerUser,
    StaffUser,
)
from youcard.messages.sending import send_messages
from youcard.operations.partner_applications import publish_terms
from youcard.policy import Staff

APPLY = {"Referer": "https://localhost/partners/apply"}


def _city(committed, *, terms=True):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        admin = make.staff(issuer, Role.ADMINISTRATOR)
        if terms:
            publish_terms(
                session,
                by=Staff.of(admin),
                text="§ 1 Partner buchen nur, was sie leisten.",
                now=NOW,
            )
        return issuer.id, admin.username


def _form(issuer_id, **changes):
    form = {
        "issuer": issuer_id,
        "name": "Schwimmverein Hamm-Heessen 1920 e. V.",
        "legal_form": "ev",
        "street": "Am Freibad 3",
        "postal_code": "59073",
        "city": "Hamm",
        "district": "Heessen",
        "contact_person": "Ayşe Yılmaz",
        "email": "vorstand@sv-heessen.example",
        "phone": "02381 12345",
        "opening_hours": "Mo–Fr 15–19 Uhr\nSa 9–12 Uhr",
        "accessibility": "stufenloser Zugang",
        "iban": "DE89 3704 0044 0532 0130 00",
        "account_holder": "Schwimmverein Hamm-Heessen 1920 e. V.",
        "category_participation": "1",
        "offer_participation": "Schwimmkurse für Kinder ab 5 Jahren",
        "price_participation": "15 € im Monat",
        "terms_accepted": "y",
        "terms_version": "1",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def _apply(client, form, token_from=None):
    city = token_from or form.get("issuer", "")
    page = client.get(f"/partners/apply?city={city}", base_url=HTTPS).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1)
    return client.post(
        "/partners/apply", data={**form, "csrf_token": token}, base_url=HTTPS, headers=APPLY
    )


def _applications(committed, issuer_id):
    with committed() as session:
        return session.scalars(
            select(PartnerApplication).where(PartnerApplication.issuer_id == issuer_id)
        ).all()


def test_a_partner_applies_and_is_thanked(client, committed):
    issuer_id, _ = _city(committed)
    form_page = client.get(f"/partners/apply?city={issuer_id}", base_url=HTTPS)
    assert form_page.status_code == 200
    assert "Partner buchen nur, was sie leisten" in form_page.get_data(as_text=True)
    answer = _apply(client, _form(issuer_id))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert "vorstand@sv-heessen.example" in answer.get_data(as_text=True)
    (stored,) = _applications(committed, issuer_id)
    assert (stored.status, stored.iban, stored.terms_version) == (
        "waiting",
        "DE89370400440532013000",
        1,
    )
    assert stored.opening_hours == "Mo–Fr 15–19 Uhr\nSa 9–12 Uhr"
    assert json.loads(stored.offers) == [
        {
            "category": "participation",
            "description": "Schwimmkurse für Kinder ab 5 Jahren",
            "price": "15 € im Monat",
        }
    ]
    with committed() as session:
        assert session.scalar(select(func.count()).select_from(Partner).where(
            Partner.issuer_id == issuer_id)) == 0  # fmt: skip  # no account before approval
        actors = session.scalars(
            select(AuditEvent.actor).where(
                AuditEvent.action == "partner_application.submit",
                AuditEvent.object_id == str(stored.id),
            )
        ).all()
    assert actors == ["public:applicant"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"iban": "DE89 3704 0044 0532 0130 01"}, "IBAN ist nicht gültig"),
        ({"name": "Anna\u202eKaya"}, "unsichtbaren Steuer- oder Schreibrichtungszeichen"),
        ({"name": "=HYPERLINK(1)"}, "nicht mit = + - oder @ beginnen"),
        ({"postal_code": "5907"}, "fünf Ziffern"),
        ({"email": "kein-at"}, "Ungültige E-Mail-Adresse"),
        ({"terms_accepted": None}, "Bedingungen"),
        ({"category_participation": None}, "mindestens"),
        ({"price_participation": ""}, "Angebot"),
        ({"legal_form": "llc"}, "Keine gültige Auswahl"),
        ({"opening_hours": "x" * 501}, "zu lang"),
        ({"offer_participation": "Kurse\u202e"}, "Richtungszeichen"),
    ],
)
def test_bad_input_is_refused_in_words_and_keeps_nothing(client, committed, changes, words):
    issuer_id, _ = _city(committed)
    answer = _apply(client, _form(issuer_id, **changes))
    assert answer.status_code == 422
    said = re.findall(r'class="field-error"[^>]*>(.*?)</', answer.get_data(as_text=True), re.S)
    assert any(words in error for error in said), said  # beside the field, in words
    assert _applications(committed, issuer_id) == []


def test_a_control_character_anywhere_is_refused_before_the_form_is_read(client, committed):
    issuer_id, _ = _city(committed)
    answer = _apply(client, _form(issuer_id, offer_participation="Kurse\u0007"))
    assert answer.status_code == 400  # the input guard of every page
    assert _applications(committed, issuer_id) == []


def test_terms_changed_meanwhile_or_none_published_are_refused(client, committed):
    issuer_id, _ = _city(committed)
    stale = _apply(client, _form(issuer_id, terms_version="7"))
    assert stale.status_code == 409 and "Bedingungen haben sich geändert" in stale.get_data(
        as_text=True
    )
    closed, _ = _city(committed, terms=False)
    page = client.get(f"/partners/apply?city={closed}", base_url=HTTPS).get_data(as_text=True)
    assert "nimmt noch keine Bewerbungen an" in page
    assert _apply(client, _form(closed), token_from=issuer_id).status_code == 422
    assert _applications(committed, issuer_id) == _applications(committed, closed) == []


def test_a_robot_filling_the_hidden_field_is_thanked_and_forgotten(client, committed):
    issuer_id, _ = _city(committed)
    answer = _apply(client, _form(issuer_id, website="http://spam.example"))
    assert answer.status_code == 200 and "angekommen" in answer.get_data(as_text=True)
    assert _applications(committed, issuer_id) == []


def test_the_form_needs_its_csrf_token(client, committed):
    issuer_id, _ = _city(committed)
    answer = client.post("/partners/apply", data=_form(issuer_id), base_url=HTTPS, headers=APPLY)
    assert answer.status_code in (400, 422)
    assert _applications(committed, issuer_id) == []


def test_an_administrator_approves_and_the_partner_exists_with_its_login(
    app, client, committed, smtp
):
    issuer_id, admin = _city(committed)
    name = "<script>alert(1)</script> Musikschule"
    assert (
        _apply(client, _form(issuer_id, name=name, account_holder="Musikschule")).status_code == 201
    )
    (application,) = _applications(committed, issuer_id)
    staff = _as(app, admin)
    listing = staff.get("/admin/applications?lang=de").get_data(as_text=True)
    assert "Wartend (1)" in listing and "<script>alert(1)" not in listing
    assert "&lt;script&gt;" in listing
    page = staff.get(f"/admin/applications/{application.id}?lang=de").get_data(as_text=True)
    assert "Mo–Fr 15–19 Uhr" in page and "DE89370400440532013000" in page
    approved = _post(staff, f"/admin/applications/{application.id}/approve")
    assert approved.status_code == 200
    shown = approved.get_data(as_text=True)
    password = re.search(r'<code class="secret">([^<]+)</code>', shown).group(1)
    with committed() as session:
        stored = session.get(PartnerApplication, application.id)
        partner = session.get(Partner, stored.partner_id)
        assert (partner.status, partner.listed, partner.contact_email) == (
            PartnerStatus.ACTIVE,
            False,  # listed once the partner agrees, on its own profile
            "vorstand@sv-heessen.example",
        )
        assert {p.category for p in partner.permissions} == {Category.PARTICIPATION}
        offer = session.get(PartnerOffer, (partner.id, Category.PARTICIPATION))
        assert offer.price == "15 € im Monat"
        user = session.scalars(
            select(PartnerUser).where(PartnerUser.partner_id == partner.id)
        ).one()
        assert user.username in shown
        message = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.event == "partner_welcome", OutboxMessage.partner_id == partner.id
            )
        ).one()
    assert password not in message.facts and "sealed_code" in message.facts
    inbox, env = smtp
    send_messages(committed, lambda: NOW + timedelta(minutes=1), env, kek=lambda: KEK)
    (mail,) = [m for m in inbox.mails if m["To"] == "vorstand@sv-heessen.example"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"Ihr Einmalpasswort: {password}" in text and user.username in text
    assert "Your one-time password" in text  # English beside it
    from youcard.operations.staff import sign_in_partner_user

    with committed.begin() as session:
        assert sign_in_partner_user(session, username=user.username, password=password, now=NOW,
                                    address="127.0.0.1").id == user.id  # fmt: skip
    again = _post(staff, f"/admin/applications/{application.id}/approve")
    assert again.status_code == 303  # decided once
    with committed() as session:
        count = select(func.count()).select_from(Partner).where(Partner.issuer_id == issuer_id)
        assert session.scalar(count) == 1


def test_refusing_needs_a_reason_and_tells_the_applicant(app, client, committed):
    issuer_id, admin = _city(committed)
    _apply(client, _form(issuer_id))
    (application,) = _applications(committed, issuer_id)
    staff = _as(app, admin)
    assert (
        _post(staff, f"/admin/applications/{application.id}/refuse", {"reason": ""}).status_code
        == 303
    )
    assert _applications(committed, issuer_id)[0].status == "waiting"
    reason = "Schwimmkurse bietet die Stadt selbst an."
    _post(staff, f"/admin/applications/{application.id}/refuse", {"reason": reason})
    (refused,) = _applications(committed, issuer_id)
    assert (refused.status, refused.refusal_reason) == ("refused", reason)
    with committed() as session:
        message = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.event_key == f"application_refused:{refused.id}"
            )
        ).one()
    assert message.address == "vorstand@sv-heessen.example"
    listing = staff.get("/admin/applications?lang=de").get_data(as_text=True)
    assert "Wartend (0)" in listing and "abgelehnt" in listing
    assert "Von der Bewerbung bis zur Entscheidung" in listing


def test_a_duplicate_is_flagged_to_the_administrator(app, client, committed):
    issuer_id, admin = _city(committed)
    with committed.begin() as session:
        from youcard.domain.models import Issuer

        known = Factory(session).partner(session.get(Issuer, issuer_id))
        known.iban = "DE89370400440532013000"
        known_name = known.name
    _apply(client, _form(issuer_id))
    _apply(client, _form(issuer_id, iban="DE02120300000000202051"))  # the same name and place
    first, second = _applications(committed, issuer_id)
    page = _as(app, admin).get(f"/admin/applications/{first.id}?lang=de").get_data(as_text=True)
    assert known_name in page and "dieselbe IBAN" in page
    assert "denselben Namen und dieselbe Postleitzahl" in page
    assert f"/admin/applications/{second.id}" in page


def test_terms_are_published_by_version(app, committed):
    _, admin = _city(committed, terms=False)
    staff = _as(app, admin)
    _post(staff, "/admin/terms", {"text": "Fassung eins"})
    _post(staff, "/admin/terms", {"text": "Fassung zwei"})
    page = staff.get("/admin/terms?lang=de").get_data(as_text=True)
    assert "Version 2" in page and "Fassung zwei" in page
    assert _post(staff, "/admin/terms", {"text": "   "}).status_code == 303
    assert "Version 2" in staff.get("/admin/terms?lang=de").get_data(as_text=True)


def test_applications_from_one_address_are_limited(committed, database_url, tmp_path, monkeypatch):
    import issuer
    from youcard.credentials import b64url

    issuer_id, _ = _city(committed)
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("YOUCARD_KEK", b64url(KEK))
    app = issuer.create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "CLOCK": lambda: NOW,
         "APPLICATION_RATE_LIMIT": "2/hour"}
    )  # fmt: skip
    client = app.test_client()
    answers = [_apply(client, _form(issuer_id, email=f"v{n}@verein.example")) for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert len(_applications(committed, issuer_id)) == 2


def test_decided_applications_go_after_the_retention_years(private_committed):
    """An applicant's contact, e-mail and IBAN go YOUCARD_ERASE_AFTER_YEARS after the
    decision; one still waiting stays; the job twice changes nothing more."""
    from datetime import datetime

    from youcard.operations.partner_applications import (
        Application,
        Offer,
        refuse_application,
        submit_application,
    )
    from youcard.privacy.retention import forget_decided_applications

    issuer_id, admin = _city(private_committed)
    with private_committed.begin() as session:
        by = Staff.of(session.scalars(select(StaffUser).where(StaffUser.username == admin)).one())
        made = []
        for n in range(3):
            made.append(submit_application(session, now=NOW, application=Application(
                issuer_id=issuer_id, name=f"Verein {n}", legal_form="ev", street="Weg 1",
                postal_code="59065", city="Hamm", district=None, contact_person="Ayşe Yılmaz",
                email=f"v{n}@verein.example", phone=None, opening_hours=None,
                accessibility=None, iban="DE89370400440532013000", account_holder="Verein",
                offers=(Offer("participation", "Kurse", "5 €"),), terms_version=1,
                terms_accepted=True)).id)  # fmt: skip
        for application_id in made[:2]:
            refuse_application(session, by=by, application_id=application_id, reason="Nein.",
                               now=NOW)  # fmt: skip
    later = NOW.replace(year=NOW.year + 3) + timedelta(days=1)
    assert forget_decided_applications(private_committed, lambda: NOW.replace(year=2028)) == 0
    assert forget_decided_applications(private_committed, lambda: later) == 2
    assert forget_decided_applications(private_committed, lambda: later) == 0
    assert [a.id for a in _applications(private_committed, issuer_id)] == [made[2]]
    assert isinstance(later, datetime)
