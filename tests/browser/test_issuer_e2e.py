"""End to end in headless Chromium: a caseworker records, an approver approves and issues the
card, the PDF is downloaded and its QR, read back with zxing-cpp, verifies."""

from __future__ import annotations

from datetime import timedelta

import pypdfium2

from tests.factories import PASSWORD, Factory, check_credential
from tests.qr import qr_texts
from youcard.clock import berlin_date, utcnow
from youcard.domain.enums import Role

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _sign_in(page, base, username):
    page.goto(base + "/login")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(base + "/")


def record_family(page, reference, valid_from, valid_until, **contact):
    """As a caseworker: record the family Yılmaz (with `contact`: the labels of the address
    fields and their values), its child Elif, and a participation benefit; stops once the
    benefit is recorded (the caller waits for the message)."""
    page.get_by_role("link", name="Familien").click()
    page.get_by_role("link", name="Familie erfassen").click()
    page.get_by_label("Aktenzeichen").fill(reference)
    page.get_by_label("Nachname").fill("Yılmaz")
    for label, value in contact.items():
        field = page.get_by_label(label)
        if label.startswith("Sprache"):  # the one choice among the contact fields
            field.select_option(value)
        else:
            field.fill(value)
    page.get_by_role("button", name="Speichern").click()
    page.get_by_text("Familie erfasst.").wait_for()

    page.get_by_label("Vorname").fill("Elif")
    page.get_by_label("Geburtsdatum").fill("2015-03-14")
    page.get_by_role("button", name="Kind hinzufügen").click()
    page.get_by_text("Kind hinzugefügt.").wait_for()

    page.get_by_text("Leistung erfassen").click()
    page.get_by_label("Leistung", exact=True).select_option("participation")
    page.get_by_label("Bewilligt ab").fill(valid_from.isoformat())
    page.get_by_label("Bewilligt bis").fill(valid_until.isoformat())
    page.get_by_role("button", name="Erfassen", exact=True).click()


def test_record_approve_issue_download_and_verify(browser, server, committed):
    with committed.begin() as session:
        make = Factory(session)
        office = make.issuer()
        make.signing_key(office)
        caseworker = make.staff(office, Role.CASEWORKER).username
        approver = make.staff(office, Role.APPROVER).username
    today = berlin_date(utcnow())
    reference = f"E2E-{office.id}"

    page = browser.new_context(accept_downloads=True, locale="de-DE").new_page()
    _sign_in(page, server, caseworker)
    record_family(page, reference, today - timedelta(days=31), today + timedelta(days=300))
    page.get_by_text("Leistung erfasst").wait_for()
    assert page.get_by_role("button", name="Bewilligen").count() == 0  # four eyes
    page.get_by_role("button", name="Abmelden").click()

    _sign_in(page, server, approver)
    page.get_by_role("link", name="Bewilligungen").click()
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Ausgewählte bewilligen").click()
    page.get_by_text("1 Leistung(en) bewilligt.").wait_for()

    page.goto(server + "/households?q=" + reference)
    page.get_by_role("link", name=reference).click()
    page.get_by_role("button", name="Karte ausstellen").click()
    page.get_by_text("Karte ausgestellt.").wait_for()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Karte als PDF").click()
    pdf = open(download_info.value.path(), "rb").read()  # noqa: SIM115 - read once, closed by GC

    front = pypdfium2.PdfDocument(pdf)[0].render(scale=300 / 72).to_pil()
    (decoded,) = qr_texts(front)
    with committed() as session:
        result = check_credential(session, decoded, now=utcnow())
    assert result.valid, result.reason
    assert result.claims.issuer == office.id and result.claims.categories == (1,)
