"""End to end in headless Chromium, as a city office starts: an administrator creates a
caseworker, who signs in with the one-time password and must change it, records a family
with an address, its language and a child; an approver approves; the approval letter's text
(read back with pypdfium2) holds the access code and the approved amounts in German and
Turkish; the code signs the family in."""

from __future__ import annotations

import re
from datetime import timedelta

import pypdfium2

from tests.browser.test_issuer_e2e import _sign_in, record_family
from tests.factories import Factory
from youcard.clock import berlin_date, utcnow
from youcard.domain.enums import Role

OWN_PASSWORD = "Kranich Wolke Fahrradklingel"


def _sign_in_as(page, base, username, password):
    page.goto(base + "/login")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()


def test_a_city_office_creates_a_caseworker_records_a_family_and_sends_the_letter(
    browser, server, committed
):
    with committed.begin() as session:
        make = Factory(session)
        office = make.issuer()
        make.signing_key(office)
        admin = make.staff(office, Role.ADMINISTRATOR).username
        approver = make.staff(office, Role.APPROVER).username
    caseworker = f"cw-{office.id.lower()}"
    reference = f"E2E-L-{office.id}"
    today = berlin_date(utcnow())
    page = browser.new_context(accept_downloads=True, locale="de-DE").new_page()

    _sign_in(page, server, admin)
    page.locator(".main-menu summary", has_text="Verwaltung").click()  # the menu's group
    page.get_by_role("link", name="Benutzerkonten").click()
    page.get_by_label("Benutzername").fill(caseworker)
    page.get_by_label("Name", exact=True).fill("Cem Kaya")
    page.get_by_label("Rolle").select_option("caseworker")
    page.get_by_role("button", name="Zugang anlegen").click()
    one_time = page.locator("code.secret").inner_text()
    page.get_by_role("button", name="Abmelden").click()

    _sign_in_as(page, server, caseworker, one_time)
    page.wait_for_url(server + "/account/password")
    page.goto(server + "/households")  # nothing else opens before the password is changed
    page.wait_for_url(server + "/account/password")
    page.get_by_label("Bisheriges Passwort").fill(one_time)
    page.get_by_label("Neues Passwort", exact=True).fill(OWN_PASSWORD)
    page.get_by_label("Neues Passwort wiederholen").fill(OWN_PASSWORD)
    page.get_by_role("button", name="Passwort ändern").click()
    page.get_by_text("Ihr Passwort ist geändert.").wait_for()

    start = today.replace(day=1)
    record_family(
        page,
        reference,
        start,
        start + timedelta(days=300),
        **{
            "Straße und Hausnummer": "Ostring 5",
            "Postleitzahl": "59065",
            "Ort": "Hamm",
            "Sprache für Briefe und Nachrichten": "tr",
        },
    )
    page.get_by_text("Leistung erfasst").wait_for()
    family_page = page.url
    page.get_by_role("button", name="Abmelden").click()

    _sign_in(page, server, approver)
    page.get_by_role("link", name="Bewilligungen").click()
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Ausgewählte bewilligen").click()
    page.get_by_text("1 Leistung(en) bewilligt.").wait_for()
    page.get_by_role("button", name="Abmelden").click()

    _sign_in_as(page, server, caseworker, OWN_PASSWORD)
    page.wait_for_url(server + "/")
    page.goto(family_page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Bewilligungsschreiben (PDF)").click()
    document = pypdfium2.PdfDocument(download_info.value.path())
    text = " ".join(
        " ".join(p.get_textpage().get_text_range().replace("\xa0", " ").split()) for p in document
    )
    code = re.search(r"Zugangscode: ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})", text).group(1)
    assert f"Erişim kodunuz: {code}" in text
    assert "15,00 € für jeden Monat" in text and "her ay için €15,00" in text
    assert "Ostring 5" in text and "59065 Hamm" in text
    page.reload()
    assert "Zugangscode erstellt am" in page.content()  # when and by whom, on the family's page
    assert "von Cem Kaya" in page.content()

    family = browser.new_context(locale="de-DE").new_page()
    family.goto(server + "/family/login")
    family.get_by_label("Code aus dem Brief").fill(code)
    family.get_by_label("Geburtsdatum von einem Ihrer Kinder").fill("2015-03-14")
    family.get_by_role("button", name="Öffnen").click()
    family.wait_for_url(server + "/family")
    assert "Elif" in family.content()
