"""No page is wider than a 390 px phone (#14.16, #14.17): the family area in German and in
Arabic (right to left, where a skip link at `left: -999px` made the page 1,389 px wide and
blank), the scanner and the staff pages in their languages."""

from __future__ import annotations

import pytest

from tests.browser.test_issuer_e2e import _sign_in
from tests.factories import PASSWORD, at_counter

PHONE = {"width": 390, "height": 844}
WIDTH = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"


def _phone(browser):
    return browser.new_context(locale="de-DE", viewport=PHONE, is_mobile=True, has_touch=True)


WIDER = """(width) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width)
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
  .slice(0, 8)"""


def _too_wide(page, found: dict[str, int], name: str) -> None:
    width = page.evaluate(WIDTH)
    if width > PHONE["width"]:
        found[name] = width
        print(name, "too wide:", page.evaluate(WIDER, PHONE["width"]))  # what to fix


def _full_family(committed) -> str:
    """A family in every state a page can show (#27.3): a child with a booking and a
    standing authorization, and a second child with a long Arabic-script name whose card is
    blocked. Its access code."""
    from datetime import date, timedelta

    from tests.factories import KEK, Factory, trusted
    from youcard.clock import berlin_date, utcnow
    from youcard.domain.enums import Category
    from youcard.operations.booking import book
    from youcard.operations.cards import issue_card, revoke_card
    from youcard.operations.family import new_access_code
    from youcard.operations.mandates import MandateTerms, create_mandate
    from youcard.policy import Counter, Staff

    now = utcnow()
    today = berlin_date(now)
    period = (today - timedelta(days=60), today + timedelta(days=300))
    with committed.begin() as session:
        make = Factory(session)
        city = make.issuer()
        make.signing_key(city)
        by = Staff.system(city.id, "t")
        household = make.household(city)
        household.family_name = "عبد الرحمن الهاشمي"
        first = make.child(city, birth_date=date(2015, 3, 14), household=household)
        second = make.child(city, birth_date=date(2013, 9, 2), household=household)
        second.given_name = "فاطمة الزهراء عبد الرحمن"
        for child in (first, second):
            make.entitlement(child, Category.TRIPS, period=period)
            make.entitlement(child, Category.PARTICIPATION, period=period)
        card = issue_card(session, child_id=first.id, by=by, now=now, kek=KEK)
        blocked = issue_card(session, child_id=second.id, by=by, now=now, kek=KEK)
        club = make.partner(city, {Category.TRIPS, Category.PARTICIPATION})
        club.name = "TuS Hamm 1859 e. V. Abteilung Leichtathletik und Schwimmen"
        session.flush()
        keys = trusted(session, city.id)
        book(
            session, by=at_counter(club.id), credential=card.credential, trusted=keys,
            category="trips", amount_cents=4_250, idempotency_key="phone-1", now=now,
        )  # fmt: skip
        create_mandate(
            session, by=Counter(club.id, club.name, frozenset()), credential=card.credential,
            trusted=keys, now=now, terms=MandateTerms("participation", "Mitglied 4711", 1_500, 1),
        )  # fmt: skip
        revoke_card(session, by=by, card_id=blocked.id, reason="verloren", now=now)
        return new_access_code(session, household_id=household.id, by=by, now=now)


FAMILY_LANGUAGES = ["de", "en", "tr", "ar", "uk", "ru"]


@pytest.mark.parametrize("lang", FAMILY_LANGUAGES)
def test_family_pages_fit_a_phone(browser, server, committed, lang):
    code = _full_family(committed)
    page = _phone(browser).new_page()
    found: dict[str, int] = {}
    page.goto(f"{server}/family/login?lang={lang}")
    _too_wide(page, found, "login")
    button = page.locator("form.stack button[type=submit]")
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.locator("#code").fill(code)
    page.locator("#birth_date").fill("2015-03-14")
    button.tap()  # a finger can reach it
    page.wait_for_url(f"{server}/family")
    _too_wide(page, found, "home")
    assert page.locator("main table tbody tr").count() >= 1  # the booking is on the page
    # Every link of the family area, as a family would follow it.
    links = page.evaluate(
        "() => [...new Set([...document.querySelectorAll('main a[href]')]"
        ".map(a => new URL(a.href).pathname).filter(p => p.startsWith('/family')))]"
    )
    assert len(links) >= 3, links
    for path in links:
        if path.endswith((".pdf", ".json", ".png", ".svg")) or "logout" in path:
            continue
        page.goto(f"{server}{path}?lang={lang}")
        _too_wide(page, found, path)
    assert found == {}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_scanner_pages_fit_a_phone(browser, redeemer_server, committed, lang):
    from tests.browser.test_accessibility import other_citys_card
    from tests.browser.test_scanner_e2e import _counter

    counter = _counter(committed)
    base = redeemer_server
    page = _phone(browser).new_page()
    found: dict[str, int] = {}
    page.goto(f"{base}/login?lang={lang}")
    _too_wide(page, found, "login")
    page.locator("#username").fill(counter.username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(base + "/scan")
    _too_wide(page, found, "scan")
    page.locator("#credential").fill(counter.credential)
    page.locator("#scan-form button[type=submit]").click()
    page.locator("#book-form").wait_for()
    page.locator("details.mandate summary").click()
    _too_wide(page, found, "result")
    page.goto(base + "/scan")
    page.locator("#credential").fill(other_citys_card(committed))
    page.locator("#scan-form button[type=submit]").click()
    page.locator("#verdict").wait_for()
    _too_wide(page, found, "another city's card")
    for path in ("/bookings", "/statement", "/mandates", "/lists"):
        page.goto(base + path)
        _too_wide(page, found, path)
    assert found == {}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_staff_pages_fit_a_phone(browser, server, committed, lang):
    from tests.browser.test_accessibility import staff_office, staff_paths

    office = staff_office(committed)
    admin = office.admin
    page = _phone(browser).new_page()
    found: dict[str, int] = {}
    page.goto(f"{server}/login?lang={lang}")
    _too_wide(page, found, "/login")
    page.goto(f"{server}/login?lang=de")
    _sign_in(page, server, admin)
    page.goto(f"{server}/?lang={lang}")
    for path in staff_paths(office):
        page.goto(server + path)
        _too_wide(page, found, path)
    page.goto(server + "/")
    for summary in page.locator(".main-menu summary").all():  # the administrator's groups,
        summary.focus()  # opened with the keyboard (#27.5)
        page.keyboard.press("Enter")
    assert page.locator(".main-menu details[open]").count() == 2
    _too_wide(page, found, "/ (menu open)")
    assert found == {}
