"""The counter without signal, in headless Chromium: the page verifies YC1 itself (WebCrypto
Ed25519) with the server's verdict on every test vector and on a generated set — valid,
tampered, expired, revoked, another issuer, an unknown key, non-canonical, junk."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.yc1_cases import PAGE_SCRIPT, generated, server_verdicts
from tests.factories import KEK, NOW, PASSWORD, Factory
from youcard.domain.budget import BudgetRule, RuleKind
from youcard.domain.enums import Category, Role
from youcard.domain.models import Booking, OfflineBooking
from youcard.operations.cards import issue_card
from youcard.operations.offline import set_offline_limit
from youcard.policy import Staff

pytestmark = pytest.mark.browser


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


def _counter_page(browser, base: str, desk: Desk, *, at=NOW, locale="de-DE"):
    """A browser of the counter (its own storage: a device), its clock at `at`, signed in on
    the scan page with its offline lists fetched and its page kept for a reload offline."""
    context = browser.new_context(locale=locale, bypass_csp=True)  # for wait_for_function
    context.clock.set_fixed_time(at)
    page = context.new_page()
    page.goto(base + "/login")
    page.locator("#username").fill(desk.username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(base + "/scan")
    page.wait_for_function("document.getElementById('offline').dataset.pageKept === 'true'")
    page.wait_for_function(
        "document.querySelector('#offline [data-part=status]').textContent.includes('Listen von')"
    )
    return context, page


def _check_offline(page, credential: str) -> None:
    page.locator("#credential").fill(credential)
    page.locator("#scan-form button[type=submit]").click()
    page.locator("#offline-result").wait_for()


def _book_offline(page, amount: str) -> None:
    page.locator("#offline-amount").fill(amount)
    page.get_by_role("button", name="Offline buchen").click()


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
    _book_offline(page, "12,00")
    receipt = page.locator("[data-part=receipt]")
    receipt.wait_for()
    assert "Offline gebucht – wird übertragen" in receipt.inner_text()
    assert "12,00" in receipt.inner_text()
    badge = page.locator("#offline [data-part=badge]")
    expect(badge).to_have_text("1 Offline-Buchung wartet auf Übertragung")
    # above the allowance: 12 + 5 > 15 EUR on this card today
    _check_offline(page, desk.credential)
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
