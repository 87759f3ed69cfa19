"""The family area: sign in with the letter's code and a child's birth date, see the cards
and what is left (equal to the ledger after a booking through the redeemer), report a card
lost (its QR fails with `revoked` at once), guessing stopped, other families unreachable."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

import issuer
import redeemer
from tests.factories import KEK, NOW, Factory, trusted
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS, SAME_ORIGIN, _csrf
from youcard.credentials import b64url
from youcard.domain.entitlement_rules import availability
from youcard.domain.enums import CardStatus, Category, Role
from youcard.domain.models import AuditEvent, Card, Entitlement, Household
from youcard.operations.cards import issue_card
from youcard.operations.family import new_access_code
from youcard.policy import Staff

ELIF, CAN = date(2015, 3, 14), date(2011, 9, 2)


@pytest.fixture
def family(committed):
    """A household with two children, each with an approved benefit and a card, a partner
    with a device token, and the access code of the family's letter."""

    def build() -> dict:
        with committed.begin() as session:
            make = Factory(session)
            city = make.issuer()
            make.signing_key(city)
            household = make.household(city)
            children = []
            for born in (ELIF, CAN):
                child = make.child(city, birth_date=born, household=household)
                make.entitlement(child, Category.PARTICIPATION)
                card = issue_card(
                    session, child_id=child.id, by=Staff.system(city.id, "t"), now=NOW, kek=KEK
                )
                children.append({"id": child.id, "name": child.given_name, "card": card})
            partner = make.partner(city, {Category.PARTICIPATION})
            _, token = make.device(partner)
            code = new_access_code(
                session, household_id=household.id, by=Staff.system(city.id, "t"), now=NOW
            )
            return {
                "household_id": household.id,
                "issuer_id": city.id,
                "children": children,
                "token": token,
                "code": code,
            }

    return build


def _sign_in(client, code, born="14.03.2015"):
    return client.post(
        "/family/login",
        data={"code": code, "birth_date": born, "csrf_token": _csrf(client, "/family/login")},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )


def test_sign_in_shows_every_child_with_qr_balance_and_bookings(client, family, committed):
    f = family()
    assert client.get("/family", base_url=HTTPS).status_code == 302  # not signed in
    code = f["code"].lower().replace("-", " ")  # as typed from paper
    r = _sign_in(client, code)
    assert r.status_code == 302 and r.headers["Location"].endswith("/family")
    page = client.get("/family", base_url=HTTPS).get_data(as_text=True)
    for child in f["children"]:
        assert child["name"] in page and f'id="qr-{child["id"]}"' in page
    assert page.count("<svg") == 2 and "Bildschirm hell" in page
    with committed() as session:
        audit = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == str(f["household_id"]))
        ).all()
    assert "family.login" in audit


def test_balance_equals_the_ledger_after_a_booking_through_the_redeemer(
    client, family, committed, database_url, tmp_path, monkeypatch
):
    f = family()
    monkeypatch.delenv("YOUCARD_KEK", raising=False)
    partner_api = redeemer.create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "CLOCK": lambda: NOW,
         "RATELIMIT_ENABLED": False}
    ).test_client()  # fmt: skip
    elif_card = f["children"][0]["card"]
    r = partner_api.post(
        "/api/v1/bookings",
        json={
            "credential": elif_card.credential,
            "category": "participation",
            "amount_cents": 1234,
        },
        headers={"Authorization": f"Bearer {f['token']}", "Idempotency-Key": "family-1"},
    )
    assert r.status_code == 201, r.json
    _sign_in(client, f["code"])
    page = client.get("/family", base_url=HTTPS).get_data(as_text=True)
    with committed() as session:
        entitlement = session.scalars(
            select(Entitlement).where(Entitlement.child_id == f["children"][0]["id"])
        ).one()
        left = availability(entitlement, ELIF, NOW.date()).cents
    assert r.json["available_cents_after"] == left
    shown = f"{left // 100},{left % 100:02d}"
    section = page.split(f'id="child-{f["children"][0]["id"]}"', 1)[1]
    assert re.search(r'class="left" data-category="participation">' + shown, section)
    assert "12,34" in section  # the booking is listed


def test_card_lost_blocks_the_qr_at_once(client, family, committed, database_url, monkeypatch):
    f = family()
    _sign_in(client, f["code"])
    child = f["children"][1]
    confirm = client.get(f"/family/children/{child['id']}/lost", base_url=HTTPS)
    assert confirm.status_code == 200 and "nicht rückgängig" in confirm.get_data(as_text=True)
    with committed() as session:
        assert session.get(Card, child["card"].id).status is CardStatus.ACTIVE  # asked only
    r = client.post(
        f"/family/children/{child['id']}/lost",
        data={"csrf_token": _csrf(client, "/family")},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 303  # the answer is a page of its own (#27.5)
    done = client.get(r.headers["Location"], base_url=HTTPS).get_data(as_text=True)
    assert "Die Karte ist gesperrt" in done and "Amt" in done
    switch = re.search(r'href="([^"]*lang=ar)"', done).group(1).replace("&amp;", "&")
    assert "blocked=1" in switch  # the language switch keeps the page
    again = client.get(r.headers["Location"].split("?")[0] + switch, base_url=HTTPS)
    text = again.get_data(as_text=True)
    assert 'dir="rtl"' in text and 'class="danger"' not in text  # not offered again
    client.get("/family?lang=de", base_url=HTTPS)
    asked = client.get(f"/family/children/{child['id']}/lost", base_url=HTTPS)
    assert asked.status_code == 302  # no card in use: nothing to block
    monkeypatch.delenv("YOUCARD_KEK", raising=False)
    partner_api = redeemer.create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "CLOCK": lambda: NOW,
         "RATELIMIT_ENABLED": False}
    ).test_client()  # fmt: skip
    verdict = partner_api.post(
        "/api/v1/verify",
        json={"credential": child["card"].credential},
        headers={"Authorization": f"Bearer {f['token']}"},
    ).json
    assert verdict == {"valid": False, "reason": "revoked"}
    page = client.get("/family", base_url=HTTPS).get_data(as_text=True)
    assert f'id="qr-{child["id"]}"' not in page and "keine Karte in Gebrauch" in page


def test_guessing_the_birth_date_locks_the_household(client, family, committed):
    f = family()
    codes = [_sign_in(client, f["code"], "01.01.2000").status_code for _ in range(5)]
    assert codes == [401] * 4 + [429]
    locked = _sign_in(client, f["code"])
    assert locked.status_code == 429  # locked even with the right date, and says so
    assert "15 Minuten" in locked.get_data(as_text=True)
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60  # and when to try again (#27.4)
    with committed() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == str(f["household_id"]))
        ).all()
    assert actions.count("family.login_failed") == 4 and "family.lockout" in actions


def test_guessing_codes_from_one_address_is_rate_limited(
    family, database_url, tmp_path, monkeypatch
):
    f = family()
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("YOUCARD_KEK", b64url(KEK))
    app = issuer.create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "CLOCK": lambda: NOW,
         "FAMILY_LOGIN_RATE_LIMIT": "3/minute"}
    )  # fmt: skip
    client = app.test_client()
    codes = [_sign_in(client, f"WRONG-CODE-{n}").status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]
    limited = _sign_in(client, f["code"])
    assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 60


def test_another_familys_children_are_never_reachable(client, family):
    mine, theirs = family(), family()
    _sign_in(client, mine["code"])
    page = client.get("/family", base_url=HTTPS).get_data(as_text=True)
    assert all(c["name"] not in page for c in theirs["children"])
    other = theirs["children"][0]["id"]
    assert client.get(f"/family/children/{other}/card.pdf", base_url=HTTPS).status_code == 404
    assert client.get(f"/family/children/{other}/lost", base_url=HTTPS).status_code == 404
    r = client.post(
        f"/family/children/{other}/lost",
        data={"csrf_token": _csrf(client, "/family")},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 404
    own = mine["children"][0]["id"]
    pdf = client.get(f"/family/children/{own}/card.pdf", base_url=HTTPS)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_wrong_code_missing_date_and_no_csrf_are_refused(client, family):
    f = family()
    assert _sign_in(client, "AAAA-BBBB-CCCC-DDDD").status_code == 401
    assert _sign_in(client, f["code"], "").status_code == 401
    assert _sign_in(client, f["code"], "32.13.2015").status_code == 401
    assert _sign_in(client, "x" * 5000).status_code == 401
    r = client.post(
        "/family/login",
        data={"code": f["code"], "birth_date": "14.03.2015"},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 400


def test_staff_make_a_new_code_once_and_the_old_one_stops(app, client, family, committed):
    f = family()
    with committed.begin() as session:
        from youcard.domain.models import Issuer

        caseworker = Factory(session).staff(session.get(Issuer, f["issuer_id"]), Role.CASEWORKER)
    staff = _as(app, caseworker.username)
    assert _sign_in(client, f["code"]).status_code == 302  # a family signed in with the old code
    assert client.get("/family", base_url=HTTPS).status_code == 200
    r = _post(staff, f"/households/{f['household_id']}/access-code")
    assert r.status_code == 303  # post, redirect, get (#14.19)
    page = staff.get(r.headers["Location"], base_url=HTTPS)
    new_code = re.search(r'id="access-code">([A-Z0-9-]+)<', page.get_data(as_text=True)).group(1)
    assert len(new_code) == 19 and new_code != f["code"]
    again = staff.get(r.headers["Location"], base_url=HTTPS).get_data(as_text=True)
    assert new_code not in again and 'id="access-code-made"' in again  # reload: no new code
    # the old code's session ended on the server at once (#14.8)
    signed_out = client.get("/family", base_url=HTTPS)
    assert signed_out.status_code == 302 and "/family/login" in signed_out.headers["Location"]
    assert _sign_in(client, f["code"]).status_code == 401
    assert _sign_in(client, new_code).status_code == 302
    with committed() as session:
        stored = session.scalar(
            select(AuditEvent.action).where(AuditEvent.action == "household.access_code")
        )
    assert stored == "household.access_code"
    # #27.5: the page offers the letter with the code just shown, which stays the family's
    assert 'name="code" value="' + new_code + '"' in page.get_data(as_text=True)
    letter = _post(staff, f"/households/{f['household_id']}/letter.pdf", {"code": new_code})
    assert letter.status_code == 200 and letter.mimetype == "application/pdf"
    import io

    import pypdfium2

    text = pypdfium2.PdfDocument(io.BytesIO(letter.data))[0].get_textpage().get_text_range()
    assert new_code in text
    client.post(
        "/family/logout",
        data={"csrf_token": _csrf(client, "/family")},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert _sign_in(client, new_code).status_code == 302  # printing it did not replace it
    stale = _post(staff, f"/households/{f['household_id']}/letter.pdf", {"code": f["code"]})
    assert stale.status_code == 303  # an older code is never printed
    told = staff.get(stale.headers["Location"], base_url=HTTPS).get_data(as_text=True)
    assert "durch einen neueren ersetzt" in told


def test_the_family_pages_speak_six_languages_and_arabic_right_to_left(client):
    for lang, word in (("tr", 'lang="tr"'), ("uk", 'lang="uk"'), ("ru", 'lang="ru"')):
        assert word in client.get(f"/family/login?lang={lang}", base_url=HTTPS).get_data(
            as_text=True
        )
    arabic = client.get("/family/login?lang=ar", base_url=HTTPS).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "العربية" in arabic and "Türkçe" in arabic
    browser = client.application.test_client().get(
        "/family/login", base_url=HTTPS, headers={"Accept-Language": "tr-TR,tr;q=0.9"}
    )
    assert 'lang="tr"' in browser.get_data(as_text=True)
    staff_page = client.get("/login?lang=tr", base_url=HTTPS).get_data(as_text=True)
    assert 'lang="tr"' not in staff_page  # the staff pages stay German and English


def test_a_family_signing_out_ends_its_sessions_on_the_server(app, client, family):
    """#14.8: a copy of the family's cookie taken before sign-out no longer opens the cards
    (a shared or lost phone), and the family signs in again as before."""
    f = family()
    assert _sign_in(client, f["code"]).status_code == 302
    copied = client.get_cookie("youcard_issuer", domain="localhost").value
    out = client.post(
        "/family/logout",
        data={"csrf_token": _csrf(client, "/family")},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert out.status_code == 302
    other_phone = app.test_client()
    other_phone.set_cookie("youcard_issuer", copied, domain="localhost")
    r = other_phone.get("/family", base_url=HTTPS)
    assert r.status_code == 302 and "/family/login" in r.headers["Location"]
    assert _sign_in(client, f["code"]).status_code == 302
    assert client.get("/family", base_url=HTTPS).status_code == 200


def test_the_family_sees_its_childs_mandates_and_ends_one_after_asking(
    app, client, family, committed
):
    from youcard.domain.models import Mandate, Partner
    from youcard.operations.mandates import MandateTerms, create_mandate
    from youcard.policy import Counter

    f, other = family(), family()
    with committed.begin() as session:
        partner = session.scalars(select(Partner).where(Partner.issuer_id == f["issuer_id"])).one()
        partner.name = "TuS Hamm"
        made = create_mandate(
            session, by=Counter(partner.id, partner.name, frozenset()),
            credential=f["children"][0]["card"].credential,
            trusted=trusted(session, f["issuer_id"]), now=NOW,
            terms=MandateTerms("participation", "M-12", 1_500, 1),
        )  # fmt: skip
        mandate_id = made.id
    assert _sign_in(client, f["code"]).status_code == 302
    page = client.get("/family", base_url=HTTPS).get_data(as_text=True)
    assert "Daueraufträge" in page and "TuS Hamm: 15,00\xa0€ monatlich seit 16.03.2026" in page
    ask = client.get(f"/family/mandates/{mandate_id}/end", base_url=HTTPS)
    assert ask.status_code == 200 and "Dauerauftrag von TuS Hamm beenden?" in ask.get_data(
        as_text=True
    )
    stranger = app.test_client()
    assert _sign_in(stranger, other["code"]).status_code == 302
    assert stranger.get(f"/family/mandates/{mandate_id}/end", base_url=HTTPS).status_code == 404
    done = client.post(
        f"/family/mandates/{mandate_id}/end", base_url=HTTPS, headers=SAME_ORIGIN,
        data={"csrf_token": _csrf(client, "/family")},
    )  # fmt: skip
    assert done.status_code == 302
    with committed() as session:
        ended = session.get(Mandate, mandate_id)
        assert (ended.status, ended.ended_by) == ("ended", f"family:{f['household_id']}")
    assert "Daueraufträge" not in client.get("/family", base_url=HTTPS).get_data(as_text=True)
    assert client.get(f"/family/mandates/{mandate_id}/end", base_url=HTTPS).status_code == 404


def test_a_familys_own_data_for_itself_and_for_the_office(app, client, family, committed, staff):
    import io
    import json

    import pypdfium2

    f = family()
    assert _sign_in(client, f["code"]).status_code == 302
    own = client.get("/family/data.json", base_url=HTTPS)
    assert own.status_code == 200 and own.mimetype == "application/json"
    data = json.loads(own.data)
    assert [c["given_name"] for c in data["children"]] == [c["name"] for c in f["children"]]
    assert data["children"][0]["cards"][0]["status"] == "active"
    assert "access_code_hash" not in own.get_data(as_text=True)  # never a secret
    pdf = client.get("/family/data.pdf", base_url=HTTPS)
    text = "".join(page.get_textpage().get_text_range()
                   for page in pypdfium2.PdfDocument(io.BytesIO(pdf.data)))  # fmt: skip
    assert "Auskunft nach Art. 15 DSGVO" in text and f["children"][0]["name"] in text
    with committed.begin() as session:
        from youcard.domain.models import Issuer

        admin = Factory(session).staff(session.get(Issuer, f["issuer_id"]), Role.ADMINISTRATOR)
        admin_name = admin.username
    office = _as(app, admin_name)
    assert office.get(f"/households/{f['household_id']}", base_url=HTTPS).status_code == 200
    for_office = office.get(f"/households/{f['household_id']}/data.json", base_url=HTTPS)
    views = json.loads(for_office.data)["viewed_by_staff"]
    assert [v["via"] for v in views] == ["page"]  # the office's look is in the family's data
    stranger_name, _issuer = staff(Role.ADMINISTRATOR)
    stranger = _as(app, stranger_name)
    assert (
        stranger.get(f"/households/{f['household_id']}/data.json", base_url=HTTPS).status_code
        == 404
    )
    assert app.test_client().get("/family/data.json", base_url=HTTPS).status_code == 302


def test_the_family_stops_and_restarts_reminders_on_its_own_page(client, family, committed):
    f = family()
    assert _sign_in(client, f["code"]).status_code == 302
    page = client.get("/family", base_url=HTTPS).get_data(as_text=True)
    assert "Erinnerungen abbestellen" in page
    stopped = client.post(
        "/family/reminders", base_url=HTTPS, headers=SAME_ORIGIN,
        data={"on": "0", "csrf_token": _csrf(client, "/family")},
    )  # fmt: skip
    assert stopped.status_code == 302
    page = client.get("/family", base_url=HTTPS).get_data(as_text=True)
    assert "Wir erinnern Sie nicht mehr." in page and "Wieder erinnern" in page
    with committed() as session:
        assert session.get(Household, f["household_id"]).reminders_off_at is not None
    no_token = client.post(
        "/family/reminders", base_url=HTTPS, headers=SAME_ORIGIN, data={"on": "1"}
    )
    assert no_token.status_code == 400  # CSRF
    with committed() as session:
        assert session.get(Household, f["household_id"]).reminders_off_at is not None


def test_the_family_chooses_the_language_and_way_of_its_messages(client, family, committed):
    f = family()
    assert _sign_in(client, f["code"]).status_code == 302
    page = client.get("/family", base_url=HTTPS).get_data(as_text=True)
    assert "Nachrichten an Sie" in page and 'value="both" checked' in page

    def choose(**data):
        return client.post(
            "/family/messages", base_url=HTTPS, headers=SAME_ORIGIN,
            data={"csrf_token": _csrf(client, "/family"), **data},
        )  # fmt: skip

    assert choose(language="uk", channel="sms").status_code == 302
    with committed() as session:
        household = session.get(Household, f["household_id"])
        assert (household.language, household.message_channel) == ("uk", "sms")
    for wrong in ({"language": "fr", "channel": "sms"}, {"language": "de", "channel": "fax"}):
        assert choose(**wrong).status_code == 400
    with committed() as session:
        household = session.get(Household, f["household_id"])
        assert (household.language, household.message_channel) == ("uk", "sms")


def test_the_family_area_links_the_directory_of_its_city(client, family):
    made = family()
    assert _sign_in(client, made["code"]).status_code in (302, 303)
    page = client.get("/family", base_url=HTTPS).get_data(as_text=True)
    assert f"/directory?city={made['issuer_id']}" in page
