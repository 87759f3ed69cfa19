"""axe-core (WCAG 2.1 A/AA) finds nothing on the staff pages, in German and in English."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.browser.test_issuer_e2e import _sign_in
from tests.factories import NOW, Factory, trusted
from youcard.domain.enums import Role
from youcard.domain.models import Household, OutboxMessage
from youcard.imports.batches import check_batch, queue_import
from youcard.messages import partner_events
from youcard.operations.mandates import MandateTerms, create_mandate
from youcard.operations.staff_tokens import create_staff_token
from youcard.policy import Counter, Staff
from youcard.privacy.retention import erase_household

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = "{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}"


def _violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(f"async () => (await axe.run(document, {WCAG_AA})).violations")


@dataclass(frozen=True)
class Office:
    """What the staff pages are shown with."""

    admin: str  # the administrator's username
    household_id: int
    admin_id: int
    child_id: int
    partner_id: int
    import_ids: tuple[int, int]  # one waiting for confirmation, one waiting to be checked
    erased: tuple[int, int]  # a family erased after the retention period, and its child


IMPORT = (
    "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;valid_from;"
    "valid_until;amount_eur\r\n{ref}-1;{ref};{ref}-P;Yılmaz;Elif;14.03.2015;participation;"
    "01.01.2026;31.12.2026;\r\n{ref}-2;{ref};{ref}-P;Yılmaz;Elif;14.03.2015;trips;01.01.2026;"
    "31.12.2026;\r\n"
)


def staff_office(committed) -> Office:
    """An issuer with a key, an administrator, a family with a benefit, a partner, and two
    imports (one refused with its report, one waiting to be checked)."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        admin = make.staff(issuer, Role.ADMINISTRATOR)
        child = make.child(issuer)
        make.entitlement(child)
        partner = make.partner(issuer)
        make.partner_user(partner)
        household = session.get(Household, child.household_id)  # told of the mandate below
        household.email = "familie.yilmaz-oezdemir.hamm-heessen@example.org"
        household.phone, household.language = "0170 1234567", "ar"
        session.flush()
        create_mandate(
            session, by=Counter(partner.id, partner.name, frozenset()),
            credential=make.card(child).credential, trusted=trusted(session, issuer.id),
            now=NOW, terms=MandateTerms("participation", "Mitglied 4711", 1_500, 1),
        )  # fmt: skip
        mail, text = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()[-2:]
        mail.status, mail.sent_at = "sent", NOW  # the page lists one sent, one not delivered
        text.status, text.last_error = "failed", "the service refused"
        household.phone_undeliverable_at = NOW
        partner.name = "Turn- und Sportverein Hamm-Heessen 1909 e. V. – Abteilung Schwimmen"
        partner.contact_email = "buchhaltung.schwimmabteilung@tsv-hamm-heessen.example"
        partner_events.contact_changed(session, partner, old="alt@tsv.example", now=NOW)
        by = Staff.of(admin)
        checked = queue_import(session, by=by, file_name="bewilligungen.csv", now=NOW,
                               data=IMPORT.format(ref=f"{issuer.id}-A").encode())  # fmt: skip
        check_batch(session, checked, now=NOW)
        waiting = queue_import(session, by=by, file_name="neu.csv", now=NOW,
                               data=IMPORT.format(ref=f"{issuer.id}-B").encode())  # fmt: skip
        gone = make.child(issuer)
        make.entitlement(gone)
        erase_household(session, session.get(Household, gone.household_id), NOW)
        _offline(session, make, issuer, child)  # the offline-risk report with rows
        create_staff_token(  # "Your account" lists it
            session, by=by, username=admin.username,
            name="Fachverfahren OPEN/PROSOZ – Schnittstelle Bildung und Teilhabe", now=NOW,
        )  # fmt: skip
        return Office(
            admin.username, child.household_id, admin.id, child.id, partner.id,
            (checked.id, waiting.id), (gone.household_id, gone.id),
        )  # fmt: skip


def _offline(session, make, issuer, child) -> None:
    """A partner with a long Arabic-script name whose counter booked offline: one booked,
    one not covered, one late (the report in March 2026)."""
    import secrets
    from datetime import timedelta

    from youcard.domain.enums import Category
    from youcard.domain.models import OfflineAllowance, OfflineBooking

    club = make.partner(issuer, {Category.PARTICIPATION})
    club.name = "نادي الرياضة والثقافة للأطفال والشباب في حي هيسن – فرع السباحة والجمباز"
    allowance = OfflineAllowance(
        id=secrets.token_hex(16), partner_id=club.id, device_key="device:1",
        issued_at=NOW - timedelta(hours=3), valid_until=NOW + timedelta(hours=21),
        limits=f'{{"{issuer.id}": {{"participation": 1500}}}}', signature="0" * 64,
    )  # fmt: skip
    session.add(allowance)
    session.flush()
    pupil = make.child(issuer, household=session.get(Household, child.household_id))
    card_id = make.card(pupil).id
    for n, (outcome, late) in enumerate([("booked", False), ("not_covered", False),
                                         ("booked", True)]):  # fmt: skip
        session.add(OfflineBooking(
            issuer_id=issuer.id, partner_id=club.id, allowance_id=allowance.id,
            card_id=card_id, category=Category.PARTICIPATION, amount_cents=450 + n,
            service_date=NOW.date(), offline_at=NOW - timedelta(hours=2), received_at=NOW,
            late=late, outcome=outcome,
            reason=None if outcome == "booked" else "insufficient_budget",
            idempotency_key=f"offline-{secrets.token_hex(4)}", request_hash=bytes(32),
        ))  # fmt: skip


def other_citys_card(committed) -> str:
    """The credential of a card whose city has not accepted the scanning partner."""
    with committed.begin() as session:
        make = Factory(session)
        city = make.issuer()
        child = make.child(city)
        make.entitlement(child)
        return make.card(child).credential


def staff_paths(office: Office) -> list[str]:
    """Every staff page an administrator reaches with a GET (axe and the phone width)."""
    household_id, child_id = office.household_id, office.child_id
    return [
        "/",
        "/households",
        "/messages",
        "/messages?state=failed&channel=sms",
        f"/households/{household_id}",
        f"/households/{household_id}/access-code",
        "/households/new",
        "/approvals",
        "/cards/print",
        "/admin/partners",
        "/admin/partners/new",
        "/admin/audit",
        "/admin/audit?verify=1",
        "/admin/access-log",
        "/admin/keys",
        "/admin/settlements",
        "/admin/reports",
        f"/admin/offline?month={NOW:%Y-%m}",
        "/admin/offline",
        "/admin/staff",
        f"/admin/staff/{office.admin_id}",
        "/account",
        "/account/password",
        "/admin/office",
        "/letters",
        f"/households/{household_id}/edit",
        f"/children/{child_id}",
        f"/admin/partners/{office.partner_id}",
        "/imports",
        f"/imports/{office.import_ids[0]}",
        f"/imports/{office.import_ids[1]}",
        f"/households/{office.erased[0]}",
        f"/children/{office.erased[1]}",
    ]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_staff_pages_have_no_wcag_aa_violations(browser, server, committed, lang):
    office = staff_office(committed)
    admin = office.admin
    # bypass_csp only lets the test inject axe; the pages' own CSP stays as it is
    page = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
    page.goto(f"{server}/login?lang={lang}")
    found = {"/login": _violations(page)}
    page.goto(f"{server}/login")
    _sign_in(page, server, admin) if lang == "de" else _sign_in_en(page, server, admin)
    for path in staff_paths(office):
        page.goto(server + path)
        found[path] = _violations(page)
    # the pages that show a one-time password, made by the forms that lead there
    page.goto(server + "/admin/staff")
    page.locator("#username").fill(f"axe-{lang}-{office.admin_id}")
    page.locator("#display_name").fill("Axe Test")
    page.locator("form.stack button[type=submit]").click()
    page.locator("code.secret").wait_for()
    found["new staff account"] = _violations(page)
    page.goto(f"{server}/admin/partners/{office.partner_id}")
    page.locator("form[action*='/reset'] button").first.click()
    page.locator("code.secret").wait_for()
    found["new partner password"] = _violations(page)
    page.goto(f"{server}/admin/partners/{office.partner_id}")
    page.locator("#new-iban").fill("DE02120300000000202051")
    page.locator("form[action$='/iban'] button").click()
    page.locator("#pending-iban").wait_for()
    found["partner with a pending IBAN"] = _violations(page)
    problems = {
        path: [(v["id"], v["help"], len(v["nodes"])) for v in violations]
        for path, violations in found.items()
        if violations
    }
    assert problems == {}
    assert NOW  # the data above is dated like the rest of the suite


def _sign_in_en(page, base, username):
    from tests.factories import PASSWORD

    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_scanner_pages_have_no_wcag_aa_violations(browser, redeemer_server, committed, lang):
    from tests.browser.test_scanner_e2e import _counter
    from tests.factories import PASSWORD

    counter = _counter(committed)
    page = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
    base = redeemer_server
    page.goto(f"{base}/login?lang={lang}")
    found = {"/login": _violations(page)}
    page.locator("#username").fill(counter.username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(base + "/scan")
    found["/scan"] = _violations(page)
    page.locator("#credential").fill(counter.credential)
    page.locator("#scan-form button[type=submit]").click()
    page.locator("#book-form").wait_for()
    page.locator("details.mandate summary").click()  # the standing authorization's form too
    found["result"] = _violations(page)
    page.locator("#amount").fill("15,00")
    page.locator("#book-button").click()
    page.locator("#booking-number").wait_for()
    found["receipt"] = _violations(page)
    for path in ("/bookings", "/statement", "/receipts/999999999", "/mandates", "/lists"):
        page.goto(base + path)
        found[path] = _violations(page)
    page.goto(base + "/scan")
    page.locator("#credential").fill("not a card")
    page.locator("#scan-form button[type=submit]").click()
    page.locator("#verdict").wait_for()
    found["invalid card"] = _violations(page)
    page.goto(base + "/scan")
    page.locator("#credential").fill(other_citys_card(committed))
    page.locator("#scan-form button[type=submit]").click()
    page.locator("#verdict").wait_for()
    assert page.locator("#holder-name").count() == 0  # nothing of the child
    found["another city's card"] = _violations(page)
    problems = {
        path: [(v["id"], v["help"], len(v["nodes"])) for v in violations]
        for path, violations in found.items()
        if violations
    }
    assert problems == {}
    assert page.evaluate("document.documentElement.lang") == lang


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_family_pages_have_no_wcag_aa_violations_in_german_and_arabic(
    browser, server, committed, lang
):
    from tests.browser.test_family_e2e import _family

    code, _credential = _family(committed)
    page = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
    page.goto(f"{server}/family/login?lang={lang}")
    assert page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
    found = {"login": _violations(page)}
    page.locator("#code").fill(code)
    page.locator("#birth_date").fill("2015-03-14")
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(f"{server}/family")
    assert page.locator("figure.qr svg").count() == 1
    found["home"] = _violations(page)
    page.locator(".actions a").nth(1).click()  # card lost? (asks first)
    found["lost"] = _violations(page)
    page.goto(f"{server}/family")
    page.locator(".mandates a").first.click()  # end a standing authorization? (asks first)
    found["end_mandate"] = _violations(page)
    problems = {
        name: [(v["id"], v["help"], len(v["nodes"])) for v in violations]
        for name, violations in found.items()
        if violations
    }
    assert problems == {}
