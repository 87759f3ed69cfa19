"""No page is wider than a 390 px phone (#14.16, #14.17): the family area in German and in
Arabic (right to left, where a skip link at `left: -999px` made the page 1,389 px wide and
blank), the scanner and the staff pages in their languages."""

from __future__ import annotations

import pytest

from tests.browser.test_issuer_e2e import _sign_in
from tests.factories import PASSWORD

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


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_family_pages_fit_a_phone(browser, server, committed, lang):
    from tests.browser.test_family_e2e import _family

    code, _credential = _family(committed)
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
    page.locator(".actions a").nth(1).click()
    _too_wide(page, found, "lost")
    assert found == {}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_scanner_pages_fit_a_phone(browser, redeemer_server, committed, lang):
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
    assert found == {}
