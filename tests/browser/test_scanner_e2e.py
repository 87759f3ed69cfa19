"""The scanner page in headless Chromium with a fake camera that shows a card's QR code:
scan, see the child, book 15 EUR, get the receipt; a blocked card; a double click and a
lost answer each book once. Prints the times from the first camera frame to the result
and from pressing "Buchen" to the receipt."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tests.factories import KEK, NOW, PASSWORD, Factory
from youcard.documents.printing import qr_png
from youcard.domain.budget import BudgetRule, RuleKind
from youcard.domain.enums import Category
from youcard.domain.models import Booking, Child
from youcard.operations.cards import issue_card, revoke_card
from youcard.policy import Staff


@dataclass
class Counter:
    credential: str
    username: str
    partner_id: int
    given_name: str
    card_id: int
    issuer_id: str


def _counter(committed) -> Counter:
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        child = make.child(issuer)
        make.entitlement(child, Category.PARTICIPATION, rule=BudgetRule(RuleKind.TOTAL, 10_000))
        card = issue_card(
            session, child_id=child.id, by=Staff.system(issuer.id, "test"), now=NOW, kek=KEK
        )
        partner = make.partner(issuer, {Category.PARTICIPATION})
        user = make.partner_user(partner)
        return Counter(
            card.credential,
            user.username,
            partner.id,
            session.get(Child, child.id).given_name,
            card.id,
            issuer.id,
        )


def _bookings(committed, partner_id: int) -> list[Booking]:
    with committed() as session:
        return list(session.scalars(select(Booking).where(Booking.partner_id == partner_id)))


def _scan(chromium, base: str, counter: Counter):
    """Sign in; the scanner page reads the card from the camera and shows the result."""
    page = chromium.new_context(locale="de-DE").new_page()
    page.goto(base + "/login")
    page.get_by_label("Benutzername").fill(counter.username)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(base + "/scan")
    page.locator("#verdict").wait_for(timeout=15_000)
    return page


def _figure(page, name: str) -> int | None:
    """A figure timing.js writes once the page's scripts ran (DOMContentLoaded, after the
    deferred scripts: the element the test waited for can be there a moment before)."""
    for _ in range(50):
        value = page.evaluate(f"() => document.documentElement.dataset.{name}")
        if value is not None:
            return int(value)
        page.wait_for_timeout(100)
    return None


def test_scan_from_the_camera_book_15_euros_and_get_the_receipt(
    camera_browser, redeemer_server, committed
):
    counter = _counter(committed)
    page = _scan(camera_browser(counter.credential), redeemer_server, counter)
    assert "Karte gültig" in page.locator("#verdict").inner_text()
    assert page.locator("#holder-name").inner_text() == counter.given_name
    scan_ms = _figure(page, "scanToResultMs")
    page.get_by_label("Betrag in Euro").fill("15,00")
    page.get_by_role("button", name="Buchen").click()
    page.locator("#booking-number").wait_for()
    book_ms = _figure(page, "bookToReceiptMs")
    [booking] = _bookings(committed, counter.partner_id)
    assert booking.amount_cents == 1500
    assert page.locator("#booking-number").inner_text() == str(booking.id)
    assert "15,00" in page.locator("#booked-amount").inner_text()
    assert "85,00" in page.locator("#left-now").inner_text()  # 100 EUR budget, 15 booked
    assert scan_ms is not None and book_ms is not None
    print(f"\nscanner: first camera frame -> result {scan_ms} ms; Buchen -> receipt {book_ms} ms")


def test_a_blocked_card_shows_gesperrt(camera_browser, redeemer_server, committed):
    counter = _counter(committed)
    with committed.begin() as session:
        revoke_card(
            session,
            card_id=counter.card_id,
            by=Staff.system(counter.issuer_id, "test"),
            reason="lost",
            now=NOW,
        )
    page = _scan(camera_browser(counter.credential), redeemer_server, counter)
    assert "Karte gesperrt" in page.locator("#verdict").inner_text()
    assert page.locator("#book-form").count() == 0


def test_a_double_click_books_once(camera_browser, redeemer_server, committed):
    counter = _counter(committed)
    page = _scan(camera_browser(counter.credential), redeemer_server, counter)
    page.get_by_label("Betrag in Euro").fill("15,00")
    page.get_by_role("button", name="Buchen").dblclick()
    page.locator("#booking-number").wait_for()
    assert len(_bookings(committed, counter.partner_id)) == 1


def test_a_lost_answer_then_a_retry_books_once(camera_browser, redeemer_server, committed):
    counter = _counter(committed)
    page = _scan(camera_browser(counter.credential), redeemer_server, counter)
    lost = []

    def lose_the_answer(route):
        route.fetch()  # the server books ...
        lost.append(True)
        route.abort("internetdisconnected")  # ... but the answer never reaches the page

    page.route("**/book", lose_the_answer)
    page.get_by_label("Betrag in Euro").fill("15,00")
    page.get_by_role("button", name="Buchen").click()
    error = page.locator("#book-error")
    error.filter(has_text="Keine Verbindung").wait_for()
    assert lost == [True] and len(_bookings(committed, counter.partner_id)) == 1
    page.unroute("**/book")
    page.get_by_role("button", name="Buchen").click()  # the same attempt, sent again
    page.locator("#booking-number").wait_for()
    [booking] = _bookings(committed, counter.partner_id)
    assert page.locator("#booking-number").inner_text() == str(booking.id)


def test_on_a_phone_with_the_keyboard_alone_from_a_photo(browser, redeemer_server, committed):
    """No camera: a photo of the card is read in the page; then every step by keyboard, on a
    phone-sized screen without sideways scrolling."""
    counter = _counter(committed)
    base = redeemer_server
    context = browser.new_context(
        locale="de-DE", viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(base + "/login")
    page.keyboard.press("Tab")  # skip link first
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.name"))
        if focused[-1] == "username":
            break
    assert "username" in focused
    page.keyboard.type(counter.username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/scan")
    photo = qr_png(counter.credential, box_size=6)
    page.locator("#photo").set_input_files(
        {"name": "karte.png", "mimeType": "image/png", "buffer": photo}
    )
    page.locator("#verdict").wait_for()
    assert page.locator("#holder-name").inner_text() == counter.given_name
    page.locator("#amount").focus()
    page.keyboard.type("15,00")
    page.keyboard.press("Enter")  # submits the booking form
    page.locator("#booking-number").wait_for()
    assert [b.amount_cents for b in _bookings(committed, counter.partner_id)] == [1500]
    for path in ("/scan", page.url, "/bookings", "/statement"):
        page.goto(path if path.startswith("http") else base + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = page.evaluate(
            "[...document.querySelectorAll('body *')]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1)"
            ".map(e => e.tagName + '.' + e.className + ':' + e.scrollWidth + '>' + e.clientWidth)"
        )
        assert overflow <= 0, (path, wide)


def test_after_the_sign_in_ended_booking_says_sign_in_again_and_keeps_the_form(
    browser, redeemer_server, committed
):
    """#14.18: the server answered 400 (CSRF) with HTML and the page said "No connection …
    press again" for ever. Now it says why, offers the sign-in, keeps what was typed, and
    books nothing."""
    counter = _counter(committed)
    base = redeemer_server
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(base + "/login")
    page.get_by_label("Benutzername").fill(counter.username)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(base + "/scan")
    page.locator("#credential").fill(counter.credential)
    page.locator("#scan-form button[type=submit]").click()
    page.locator("#book-form").wait_for()
    other = context.new_page()  # signing out in another tab ends the session on the server
    other.goto(base + "/scan")
    other.locator("form[action$='/logout'] button").click()
    other.wait_for_url(base + "/login")
    page.get_by_label("Betrag in Euro").fill("15,00")
    page.get_by_role("button", name="Buchen").click()
    error = page.locator("#book-error")
    error.filter(has_text="Anmeldung").wait_for()
    assert "Verbindung" not in error.inner_text()
    assert page.locator("#book-signin").is_visible()
    assert page.get_by_label("Betrag in Euro").input_value() == "15,00"
    assert _bookings(committed, counter.partner_id) == []
