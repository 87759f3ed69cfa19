"""#30 in Chromium: the application form, the administrator's pages, the partner's profile
and the directory have no WCAG 2.1 AA violations (axe-core) and fit a 390 px phone, with
real content in every state (errors, duplicates, long and Arabic-script names); and end to
end: a club applies, an administrator approves it, the club signs in with its one-time
password, enters its hours and lists itself, and a family finds it in the directory by
category and district, in Arabic."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_accessibility import _violations
from tests.browser.test_issuer_e2e import _sign_in
from tests.browser.test_phone_width import _phone, _too_wide
from tests.factories import NOW, PASSWORD, Factory
from youcard.domain.enums import Category, Role
from youcard.operations import partner_applications as applications
from youcard.operations.partner_profile import Profile, update_profile
from youcard.policy import Counter, Staff

ARABIC_CLUB = "نادي الشباب الرياضي للسباحة وكرة القدم في حي هيسن"


def _application(issuer_id: str, name: str, iban: str, email: str) -> applications.Application:
    return applications.Application(
        issuer_id=issuer_id, name=name, legal_form="ev", street="Dolberger Straße 12",
        postal_code="59073", city="Hamm", district="Heessen",
        contact_person="Ayşe Yılmaz-Öztürk", email=email, phone="02381 4711",
        opening_hours="Mo–Fr 15–19 Uhr\nSa 9–12 Uhr", accessibility="stufenloser Zugang",
        iban=iban, account_holder=name,
        offers=(applications.Offer("participation", "Schwimmkurse für Kinder ab 5 Jahren, "
                                   "in kleinen Gruppen mit zwei Trainerinnen", "15 € im Monat"),),
        terms_version=1, terms_accepted=True,
    )  # fmt: skip


def _city(committed) -> dict:
    """An issuer with its terms, an administrator, applications in every state (two alike:
    flagged as duplicates; one refused), and listed partners with long and Arabic names,
    one of them with a login for its profile page."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        admin = make.staff(issuer, Role.ADMINISTRATOR)
        by = Staff.of(admin)
        terms = "§ 1 Partner buchen nur, was sie geleistet haben.\n§ 2 Keine höheren Preise."
        applications.publish_terms(session, by=by, now=NOW, text=terms)
        first = applications.submit_application(session, now=NOW, application=_application(
            issuer.id, "Schwimmverein Hamm-Heessen 1920 e. V. – Abteilung Kinderschwimmen",
            "DE89370400440532013000", "vorstand@sv-heessen.example"))  # fmt: skip
        applications.submit_application(session, now=NOW, application=_application(
            issuer.id, "Schwimmverein Hamm-Heessen 1920 e. V. – Abteilung Kinderschwimmen",
            "DE02120300000000202051", "kasse@sv-heessen.example"))  # fmt: skip
        refused = applications.submit_application(session, now=NOW, application=_application(
            issuer.id, ARABIC_CLUB, "DE02500105170137075030", "info@nadi.example"))  # fmt: skip
        why = "Das Angebot liegt außerhalb der Stadt."
        applications.refuse_application(
            session, by=by, application_id=refused.id, now=NOW, reason=why
        )
        listed = []
        for name, category, district in (
            (ARABIC_CLUB, Category.PARTICIPATION, "Heessen"),
            ("Schulmensa der Friedensschule Hamm-Mitte (Mittagessen für alle Klassen)",
             Category.LUNCH, "Mitte"),
        ):  # fmt: skip
            partner = make.partner(issuer, {category})
            partner.name = name
            user = make.partner_user(partner)
            session.flush()
            update_profile(
                session,
                by=Counter(partner.id, name, frozenset({(issuer.id, category)}),
                           partner_user_id=user.id),
                profile=Profile(
                    street="Dolberger Straße 12", postal_code="59073", city="Hamm",
                    district=district, contact_person="فاطمة الزهراء عبد الرحمن",
                    contact_email="kontakt@partner.example", phone="02381 4711",
                    opening_hours="Mo–Fr 15–19 Uhr\nSa 9–12 Uhr",
                    accessibility="stufenloser Zugang, barrierefreies WC", listed=True,
                    contact_public=True,
                    offers={category.value: ("Kurse für Kinder von 5 bis 14 Jahren, "
                                             "auch in den Ferien", "15 € im Monat")},
                ),
                now=NOW,
            )  # fmt: skip
            listed.append((partner.id, user.username))
        return {
            "issuer": issuer.id,
            "admin": admin.username,
            "waiting": first.id,
            "partner_login": listed[0][1],
        }


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_application_and_its_review_have_no_wcag_aa_violations(
    browser, server, committed, lang
):
    city = _city(committed)
    page = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
    page.goto(f"{server}/partners/apply?city={city['issuer']}&lang={lang}")
    found = {"form": _violations(page)}
    page.locator("#name").fill("Musikschule Hamm")
    page.locator("#iban").fill("DE89 3704 0044 0532 0130 01")  # check digits wrong
    page.locator("button[type=submit]").last.click()
    page.locator("[role=alert]").first.wait_for()
    found["form with errors"] = _violations(page)
    page.goto(f"{server}/login?lang=de")
    _sign_in(page, server, city["admin"])
    for path in (
        "/admin/applications",
        f"/admin/applications/{city['waiting']}",
        "/admin/terms",
    ):
        page.goto(f"{server}{path}?lang={lang}")
        found[path] = _violations(page)
    page.goto(f"{server}/admin/applications/{city['waiting']}")
    page.locator("form[action$='/approve'] button").click()
    page.locator("code.secret").wait_for()
    found["approved"] = _violations(page)
    problems = {k: [(v["id"], v["help"]) for v in found[k]] for k in found if found[k]}
    assert problems == {}


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_the_directory_has_no_wcag_aa_violations_and_fits_a_phone(browser, server, committed, lang):
    city = _city(committed)
    found, wide = {}, {}
    page = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
    phone = _phone(browser).new_page()
    for query in ("", "&category=lunch&district=Mitte", "&q=nothing-matches"):
        path = f"/directory?city={city['issuer']}&lang={lang}{query}"
        page.goto(server + path)
        found[path] = _violations(page)
        phone.goto(server + path)
        _too_wide(phone, wide, path)
    page.goto(f"{server}/directory?city={city['issuer']}&lang={lang}")
    assert page.locator("article.partner-card").count() == 2
    assert page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
    problems = {k: [(v["id"], v["help"]) for v in found[k]] for k in found if found[k]}
    assert problems == {} and wide == {}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_application_form_and_the_review_fit_a_phone(browser, server, committed, lang):
    city = _city(committed)
    page = _phone(browser).new_page()
    wide: dict[str, int] = {}
    page.goto(f"{server}/partners/apply?city={city['issuer']}&lang={lang}")
    _too_wide(page, wide, "form")
    page.goto(f"{server}/login?lang=de")
    _sign_in(page, server, city["admin"])
    for path in ("/admin/applications", f"/admin/applications/{city['waiting']}", "/admin/terms"):
        page.goto(f"{server}{path}?lang={lang}")
        _too_wide(page, wide, path)
    assert wide == {}


def test_the_partners_profile_page_has_no_violations_and_fits_a_phone(
    browser, redeemer_server, committed
):
    city = _city(committed)
    found, wide = {}, {}
    desk = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
    phone = _phone(browser).new_page()
    for page in (desk, phone):
        page.goto(f"{redeemer_server}/login")
        page.locator("#username").fill(city["partner_login"])
        page.locator("#password").fill(PASSWORD)
        page.locator("form.stack button[type=submit]").click()
        page.wait_for_url(redeemer_server + "/scan")
        page.goto(redeemer_server + "/profile")
        if page is desk:
            found["profile"] = _violations(page)
        else:
            _too_wide(page, wide, "profile")
        page.locator("#postal_code").fill("590")
        page.locator("form[action$='/profile'] button[type=submit]").click()
        page.locator("[role=alert]").first.wait_for()
        if page is desk:
            found["profile refused"] = _violations(page)
        else:
            _too_wide(page, wide, "profile refused")
    problems = {k: [(v["id"], v["help"]) for v in found[k]] for k in found if found[k]}
    assert problems == {} and wide == {}


def test_a_club_applies_is_approved_lists_itself_and_a_family_finds_it_in_arabic(
    browser, server, redeemer_server, committed
):
    city = _city(committed)
    club = "Ringerverein Hamm-Bockum-Hövel 1911"
    page = browser.new_context(locale="de-DE").new_page()
    page.goto(f"{server}/partners/apply?city={city['issuer']}")
    for field, value in (
        ("#name", club), ("#street", "Am Sportplatz 1"), ("#postal_code", "59075"),
        ("#city", "Hamm"), ("#district", "Bockum-Hövel"), ("#contact_person", "Jan Nowak"),
        ("#email", "vorstand@ringer-hamm.example"), ("#iban", "DE44 5001 0517 5407 3249 31"),
        ("#account_holder", club),
    ):  # fmt: skip
        page.locator(field).fill(value)
    page.locator("#legal_form").select_option("ev")
    page.locator("#category_participation").check()
    page.locator("#offer_participation").fill("Ringen für Kinder ab 6 Jahren")
    page.locator("#price_participation").fill("12 € im Monat")
    page.locator("#terms_accepted").check()
    page.locator("button[type=submit]").last.click()
    page.get_by_text("Ihre Bewerbung ist angekommen").wait_for()

    _sign_in(page, server, city["admin"])
    page.goto(f"{server}/admin/applications")
    page.get_by_role("link", name=club).click()
    page.locator("form[action$='/approve'] button").click()
    username = page.locator("code").first.inner_text()
    password = page.locator("code.secret").inner_text()

    partner = browser.new_context(locale="de-DE").new_page()
    partner.goto(f"{redeemer_server}/login")
    partner.locator("#username").fill(username)
    partner.locator("#password").fill(password)
    partner.locator("form.stack button[type=submit]").click()
    partner.wait_for_url(redeemer_server + "/scan")
    partner.get_by_role("link", name="Ihr Profil").click()
    assert partner.locator("#offer_participation").input_value() == "Ringen für Kinder ab 6 Jahren"
    partner.locator("#opening_hours").fill("Di und Do 17–19 Uhr")
    partner.locator("#listed").check()
    partner.locator("form[action$='/profile'] button[type=submit]").click()
    partner.get_by_text("Ihr Profil ist gespeichert").wait_for()

    family = browser.new_context(locale="ar").new_page()
    family.goto(f"{server}/directory?city={city['issuer']}&lang=ar")
    family.locator("#category").select_option("participation")
    family.locator("#district").select_option("Bockum-Hövel")
    family.locator("form[role=search] button").click()
    card = family.locator("article.partner-card")
    assert card.count() == 1 and club in card.inner_text()
    assert "Di und Do 17–19 Uhr" in card.inner_text()
    assert re.search(r"openstreetmap\.org/search\?query=Am\+Sportplatz\+1", card.inner_html())
    assert family.evaluate("document.documentElement.dir") == "rtl"
