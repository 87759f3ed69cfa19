"""The family area as an installed web app in headless Chromium: after one visit the card
page opens without network, shows the last QR (readable by zxing) and says it is offline
and from when."""

from __future__ import annotations

import io
from datetime import date, timedelta

from PIL import Image

from tests.factories import KEK, Factory, trusted
from tests.qr import qr_texts
from youcard.clock import berlin_date, utcnow
from youcard.domain.enums import Category
from youcard.operations.cards import issue_card
from youcard.operations.family import new_access_code
from youcard.operations.mandates import MandateTerms, create_mandate
from youcard.policy import Counter, Staff


def _family(committed) -> tuple[str, str]:
    now = utcnow()
    today = berlin_date(now)
    with committed.begin() as session:
        make = Factory(session)
        city = make.issuer()
        make.signing_key(city)
        household = make.household(city)
        child = make.child(city, birth_date=date(2015, 3, 14), household=household)
        make.entitlement(
            child, Category.TRIPS, period=(today - timedelta(days=60), today + timedelta(days=300))
        )
        card = issue_card(
            session, child_id=child.id, by=Staff.system(city.id, "t"), now=now, kek=KEK
        )
        club = make.partner(city, {Category.TRIPS})
        club.name = "TuS Hamm 1859 e. V. Abteilung Leichtathletik"  # a long name, on a phone
        session.flush()
        create_mandate(
            session, by=Counter(club.id, club.name, frozenset()), credential=card.credential,
            trusted=trusted(session, city.id), now=now,
            terms=MandateTerms("trips", "M-1", 2_000, 1),
        )  # fmt: skip
        code = new_access_code(
            session, household_id=household.id, by=Staff.system(city.id, "t"), now=now
        )
        return code, card.credential


def test_the_last_card_page_opens_without_network(browser, server, committed):
    code, credential = _family(committed)
    context = browser.new_context(locale="de-DE", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(server + "/family/login")
    page.get_by_label("Code aus dem Brief").fill(code)
    page.get_by_label("Geburtsdatum von einem Ihrer Kinder").fill("2015-03-14")
    page.get_by_role("button", name="Öffnen").click()
    page.wait_for_url(server + "/family")
    page.wait_for_function(
        "navigator.serviceWorker.getRegistration('/family').then(r => !!(r && r.active))",
        timeout=15_000,
    )
    page.reload()  # now the service worker controls the page and keeps it
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
    page.wait_for_function(
        "caches.open('youcard-family-v1').then(c => c.match('/family')).then(r => !!r)",
        timeout=15_000,
    )
    kept_at = page.locator("#updated").inner_text()
    context.set_offline(True)
    page.reload()
    assert page.locator("#offline-note").is_visible()
    assert page.locator("#updated").inner_text() == kept_at and kept_at.startswith("Stand:")
    shot = page.locator("figure.qr svg").screenshot()
    assert qr_texts(Image.open(io.BytesIO(shot))) == [credential]  # the card's QR, offline
    context.set_offline(False)


def test_the_manifest_makes_it_installable(browser, server):
    page = browser.new_context(locale="de-DE").new_page()
    page.goto(server + "/family/login?lang=ar")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = page.evaluate(f"fetch('{href}').then(r => r.json())")
    assert manifest["start_url"] == "/family" and manifest["display"] == "standalone"
    assert manifest["lang"] == "ar" and manifest["dir"] == "rtl"
    for icon in manifest["icons"]:
        response = page.request.get(server + icon["src"])
        size = Image.open(io.BytesIO(response.body())).size
        assert f"{size[0]}x{size[1]}" == icon["sizes"]
