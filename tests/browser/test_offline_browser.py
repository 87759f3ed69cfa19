"""The counter without signal, in headless Chromium: the page verifies YC1 itself (WebCrypto
Ed25519) with the server's verdict on every test vector and on a generated set — valid,
tampered, expired, revoked, another issuer, an unknown key, non-canonical, junk."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.yc1_cases import PAGE_SCRIPT, generated, server_verdicts
from tests.conftest import DATABASES, _postgres_problem
from tests.factories import KEK, NOW, PASSWORD, Factory
from youcard.domain.budget import BudgetRule, RuleKind
from youcard.domain.enums import Category, Role
from youcard.domain.models import Booking, Card, OfflineBooking
from youcard.operations.cards import issue_card, revoke_card
from youcard.operations.offline import set_offline_limit
from youcard.policy import Staff
from youcard.reads.offline import offline_risk

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _once(database_url):
    """The page is the same whichever database serves it, and its API part runs on both
    (tests/redeemer/test_offline_api.py): these run once, on PostgreSQL when it answers."""
    if database_url.startswith("sqlite") and "postgresql" in DATABASES and not _postgres_problem():
        pytest.skip("the page's offline mode runs once, on PostgreSQL")


def test_the_page_gives_the_servers_verdict_on_every_credential(browser, redeemer_server):
    trust, cases = generated()
    expected = server_verdicts(trust, cases)
    kinds = Counter(expected)
    assert kinds["valid"] >= 25 and kinds["malformed"] >= 100 and kinds["bad_signature"] >= 20
    assert {"unknown_issuer", "unknown_key", "expired", "revoked"} <= set(kinds)
    page = browser.new_page()
    page.goto(redeemer_server + "/login")  # localhost: a secure context, WebCrypto exists
    page.add_script_tag(url=redeemer_server + "/static/yc1.js")
    answer = page.evaluate(PAGE_SCRIPT, [trust, cases])
    differ = [
        (case["credential"][:60], mine, theirs)
        for case, mine, theirs in zip(cases, answer["verdicts"], expected, strict=True)
        if mine != theirs
    ]
    assert differ == [], differ
    times = sorted(answer["times"][1:])
    print(f"\nverify in the page: {len(cases)} credentials, median {times[len(times) // 2]:.2f} ms")


# -- the scanner page without signal -----------------------------------------------------


@dataclass
class Desk:
    credential: str
    username: str
    partner_id: int
    issuer_id: str
    entitlement_id: int


def _desk(committed, *, budget: int = 10_000, limit: int = 1500) -> Desk:
    """A card with `budget` cents for participation; the city lets a counter book `limit`
    cents offline on one card a day; a partner's staff member."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        child = make.child(issuer)
        entitlement = make.entitlement(
            child, Category.PARTICIPATION, rule=BudgetRule(RuleKind.TOTAL, budget)
        )
        card = issue_card(
            session, child_id=child.id, by=Staff.system(issuer.id, "test"), now=NOW, kek=KEK
        )
        admin = Staff.of(make.staff(issuer, Role.ADMINISTRATOR))
        set_offline_limit(session, by=admin, category=Category.PARTICIPATION, cents=limit, now=NOW)
        partner = make.partner(issuer, {Category.PARTICIPATION})
        user = make.partner_user(partner)
        return Desk(card.credential, user.username, partner.id, issuer.id, entitlement.id)


def _counter_page(browser, base: str, desk: Desk, *, at=NOW, lang="de", **options):
    """A browser of the counter (its own storage: a device), its clock at `at`, signed in on
    the scan page with its offline lists fetched and its page kept for a reload offline."""
    context = browser.new_context(locale="de-DE", bypass_csp=True, **options)  # CSP: axe
    context.clock.set_fixed_time(at)
    page = context.new_page()
    page.goto(f"{base}/login?lang={lang}")
    page.locator("#username").fill(desk.username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(base + "/scan")
    page.wait_for_function("document.getElementById('offline').dataset.pageKept === 'true'")
    page.wait_for_function("document.getElementById('offline').dataset.listsAt !== undefined")
    return context, page


def _check_offline(page, credential: str) -> None:
    page.locator("#credential").fill(credential)
    page.locator("#scan-form button[type=submit]").click()
    page.locator("#offline-result[data-checked=true]").wait_for()


def _book_offline(page, amount: str) -> None:
    page.locator("#offline-amount").fill(amount)
    page.locator("#offline-result form button[type=submit]").click()


def _bookings(committed, partner_id: int) -> list[Booking]:
    with committed() as session:
        return list(session.scalars(select(Booking).where(Booking.partner_id == partner_id)))


def _offline_records(committed, partner_id: int) -> list[OfflineBooking]:
    with committed() as session:
        return list(
            session.scalars(
                select(OfflineBooking)
                .where(OfflineBooking.partner_id == partner_id)
                .order_by(OfflineBooking.id)
            )
        )


def test_booked_offline_kept_through_a_reload_and_sent_once_when_online(
    browser, redeemer_server, committed
):
    desk = _desk(committed)
    context, page = _counter_page(browser, redeemer_server, desk)
    context.set_offline(True)
    _check_offline(page, desk.credential)
    assert page.locator("#offline-verdict").inner_text() == "Karte gültig (offline geprüft)"
    assert (
        page.locator("#offline-category option").inner_text()
        == "Soziale und kulturelle Teilhabe (offline heute noch 15,00\xa0€)"
    )
    _book_offline(page, "12,00")
    receipt = page.locator("[data-part=receipt]")
    receipt.wait_for()
    assert "Offline gebucht – wird übertragen" in receipt.inner_text()
    assert "12,00" in receipt.inner_text()
    badge = page.locator("#offline [data-part=badge]")
    expect(badge).to_have_text("1 Offline-Buchung wartet auf Übertragung")
    # above the allowance: 12 + 5 > 15 EUR on this card today
    _check_offline(page, desk.credential)
    expect(page.locator("#offline-category option")).to_contain_text("offline heute noch 3,00")
    _book_offline(page, "5,00")
    expect(page.locator("#offline-result [data-part=error]")).to_contain_text(
        "heute höchstens noch 3,00"
    )
    # the battery dies, the page comes back without signal: the booking still waits
    page.reload()
    page.locator("#offline-bookings tbody tr").first.wait_for()
    expect(badge).to_have_text("1 Offline-Buchung wartet auf Übertragung")
    assert page.locator("#offline-bookings tbody tr").get_attribute("data-status") == "waiting"
    assert _bookings(committed, desk.partner_id) == []
    # online again, the first answer is lost: sent again with its key, booked once
    lost = []

    def lose_the_answer(route):
        route.fetch()  # the server books it ...
        lost.append(route.request.headers["idempotency-key"])
        route.abort()  # ... and the answer never arrives

    page.route("**/offline/bookings", lose_the_answer)
    context.set_offline(False)
    for _ in range(50):
        if lost:
            break
        page.wait_for_timeout(100)
    assert len(lost) == 1
    page.unroute("**/offline/bookings")
    page.evaluate("() => YouCardOffline.sync()")
    page.locator("#offline-bookings tbody tr[data-status=sent]").wait_for()
    assert badge.is_hidden()
    [booking] = _bookings(committed, desk.partner_id)
    assert booking.amount_cents == 1200 and booking.idempotency_key == lost[0]
    [record] = _offline_records(committed, desk.partner_id)
    assert (record.outcome, record.booking_id, record.late) == ("booked", booking.id, False)
    page.evaluate("() => YouCardOffline.sync()")  # nothing left to send: nothing booked
    assert len(_bookings(committed, desk.partner_id)) == 1


def test_two_devices_book_one_card_offline_and_the_excess_is_not_covered(
    browser, redeemer_server, committed
):
    desk = _desk(committed, budget=2000, limit=1500)
    first, first_page = _counter_page(browser, redeemer_server, desk)
    second, second_page = _counter_page(browser, redeemer_server, desk)
    for context, page in ((first, first_page), (second, second_page)):
        context.set_offline(True)
        _check_offline(page, desk.credential)
        _book_offline(page, "15,00")  # each within its own allowance
        page.locator("[data-part=receipt]").wait_for()
    first.set_offline(False)
    first_page.locator("#offline-bookings tbody tr[data-status=sent]").wait_for()
    second.set_offline(False)
    row = second_page.locator("#offline-bookings tbody tr[data-status=not_covered]")
    row.wait_for()
    assert "Nicht gedeckt: das Budget war inzwischen verbraucht" in row.inner_text()
    assert [b.amount_cents for b in _bookings(committed, desk.partner_id)] == [1500]
    assert [(r.outcome, r.reason) for r in _offline_records(committed, desk.partner_id)] == [
        ("booked", None),
        ("not_covered", "insufficient_budget"),
    ]
    with committed() as session:
        [line] = offline_risk(
            session, by=Staff.system(desk.issuer_id, "test"), month=NOW.date().replace(day=1)
        )
    assert (line.not_covered_count, line.not_covered_cents, line.devices) == (1, 1500, 2)


def test_old_lists_or_a_clock_off_refuse_offline_booking_verify_still_works(
    browser, redeemer_server, committed
):
    desk = _desk(committed)
    context, page = _counter_page(browser, redeemer_server, desk)
    context.set_offline(True)
    context.clock.set_fixed_time(NOW + timedelta(hours=25))  # a day later, still no signal
    _check_offline(page, desk.credential)
    assert page.locator("#offline-verdict").inner_text() == "Karte gültig (offline geprüft)"
    assert "Listen älter als 24 Stunden" in page.locator("#offline-result").inner_text()
    assert page.locator("#offline-amount").is_hidden()
    late, late_page = _counter_page(
        browser, redeemer_server, desk, at=NOW + timedelta(minutes=10)
    )  # this device's clock is 10 minutes ahead of the server's
    late.set_offline(True)
    _check_offline(late_page, desk.credential)
    assert "mehr als 5 Minuten falsch" in late_page.locator("#offline-result").inner_text()
    assert late_page.locator("#offline-amount").is_hidden()
    assert _bookings(committed, desk.partner_id) == []


def test_offline_a_blocked_or_forged_card_is_refused_and_the_last_balance_holds(
    browser, redeemer_server, committed
):
    desk = _desk(committed, budget=1000, limit=1500)
    context, page = _counter_page(browser, redeemer_server, desk)
    # checked online first: 10 EUR left is what the page remembers for this card
    page.locator("#credential").fill(desk.credential)
    page.locator("#scan-form button[type=submit]").click()
    page.locator("#book-form").wait_for()
    page.goto(redeemer_server + "/scan")
    page.wait_for_function("document.getElementById('offline').dataset.ready === 'true'")
    context.set_offline(True)
    _check_offline(page, desk.credential)
    _book_offline(page, "12,00")  # within the allowance, above what was left
    expect(page.locator("#offline-result [data-part=error]")).to_contain_text("10,00")
    _check_offline(page, desk.credential[:-3] + "AAA")  # a changed code
    expect(page.locator("#offline-verdict")).to_have_text(
        re.compile("Karte nicht echt|Kein YouCard-Code")
    )
    assert page.locator("#offline-amount").is_hidden()
    with committed.begin() as session:
        card_id = session.scalars(select(Card.id).where(Card.issuer_id == desk.issuer_id)).one()
        revoke_card(
            session, by=Staff.system(desk.issuer_id, "test"), card_id=card_id,
            reason="verloren", now=NOW,
        )  # fmt: skip
    context.set_offline(False)
    page.evaluate("() => YouCardOffline.refresh()")  # the revocation reaches the page
    context.set_offline(True)
    _check_offline(page, desk.credential)
    expect(page.locator("#offline-verdict")).to_have_text("Karte gesperrt")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_offline_states_are_accessible_and_fit_a_phone(
    browser, redeemer_server, committed, lang
):
    from tests.browser.test_accessibility import _violations
    from tests.browser.test_phone_width import PHONE, _too_wide

    desk = _desk(committed, budget=1000, limit=1500)
    context, page = _counter_page(
        browser, redeemer_server, desk, lang=lang, viewport=PHONE, is_mobile=True, has_touch=True
    )
    seen: dict[str, list] = {}
    wide: dict[str, int] = {}

    def look(name: str) -> None:
        seen[name] = _violations(page)
        _too_wide(page, wide, name)

    look("online, lists fetched")
    context.set_offline(True)
    _check_offline(page, desk.credential)
    look("valid offline, the form")
    _book_offline(page, "12,00")
    page.locator("[data-part=receipt]").wait_for()
    look("booked offline, waiting")
    _check_offline(page, desk.credential)
    _book_offline(page, "3,00")
    page.locator("[data-part=receipt]").wait_for()
    _check_offline(page, desk.credential)
    _book_offline(page, "1,00")  # above the allowance: 15 EUR booked offline today
    page.locator("#offline-result [data-part=error]:not(:empty)").wait_for()
    look("above the allowance")
    _check_offline(page, "YC1:NOT-A-CARD")
    look("not a card, offline")
    context.set_offline(False)  # 12 EUR is more than the 10 left: not covered; 3 EUR booked
    page.locator("#offline-bookings tbody tr[data-status=sent]").wait_for()
    page.locator("#offline-bookings tbody tr[data-status=not_covered]").wait_for()
    look("sent and not covered")
    page.goto(redeemer_server + "/bookings")  # today's bookings, and the one not covered
    assert page.locator("#uncovered-heading").count() == 1
    look("today's bookings with one not covered")
    problems = {
        name: [(v["id"], v["help"], len(v["nodes"])) for v in violations]
        for name, violations in seen.items()
        if violations
    }
    assert problems == {} and wide == {}
    assert page.evaluate("document.documentElement.lang") == lang


def test_the_camera_reads_a_card_without_signal_and_books_it_offline(
    camera_browser, redeemer_server, committed
):
    desk = _desk(committed)
    chromium = camera_browser(desk.credential)
    context = chromium.new_context(locale="de-DE", bypass_csp=True)
    context.clock.set_fixed_time(NOW)
    page = context.new_page()
    page.goto(redeemer_server + "/login")
    page.locator("#username").fill(desk.username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.locator("#verdict").wait_for(timeout=15_000)  # online, the camera's card was checked
    page.wait_for_function("document.getElementById('offline').dataset.pageKept === 'true'")
    page.wait_for_function("document.getElementById('offline').dataset.listsAt !== undefined")
    context.set_offline(True)
    page.goto(redeemer_server + "/scan")  # from the service worker's copy
    page.locator("#offline-result[data-checked=true]").wait_for(timeout=15_000)
    assert page.locator("#offline-verdict").inner_text() == "Karte gültig (offline geprüft)"
    _book_offline(page, "7,50")
    page.locator("[data-part=receipt]").wait_for()
    context.set_offline(False)
    page.locator("#offline-bookings tbody tr[data-status=sent]").wait_for()
    assert [b.amount_cents for b in _bookings(committed, desk.partner_id)] == [750]
