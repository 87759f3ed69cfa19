"""What a caseworker needs on the phone with a family: the child's page (balances, every
booking and cancellation, cards and their history), the queue of cards families blocked and
a new card for them, search as names are typed, and the office's details where families
read them (the "card lost" page, the card's back)."""

from __future__ import annotations

import io
import re

import pypdfium2
import pytest
from sqlalchemy import select

from tests.factories import KEK, NOW, Factory, at_counter, trusted
from tests.issuer.test_family import _sign_in
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS, SAME_ORIGIN, _csrf
from youcard.domain.budget import BudgetRule
from youcard.domain.contacts import OfficeDetails
from youcard.domain.enums import CardStatus, Category, Role, RuleKind
from youcard.domain.models import Card, Household
from youcard.errors import DomainError
from youcard.operations.booking import book, cancel_booking
from youcard.operations.cards import issue_card, replace_blocked_card
from youcard.operations.contacts import set_office_details
from youcard.operations.family import new_access_code, report_card_lost
from youcard.policy import Family, Staff


@pytest.fixture
def desk(committed):
    """An issuer with its office, staff of every role, and a family (Yılmaz, Straße) whose
    child has trips (150 €) with two bookings, one of them cancelled, and a card."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        system = Staff.system(issuer.id, "test")
        set_office_details(
            session,
            by=system,
            details=OfficeDetails(name="Bürgeramt Mitte", phone="0521 51-0", hours="Mo 8–12"),
            now=NOW,
        )
        people = {role.value: make.staff(issuer, role).username for role in Role}
        household = make.household(issuer)
        household.family_name, household.reference = "Yılmaz", "BI-4711"
        child = make.child(issuer, household=household)
        child.given_name, child.family_name = "Güneş", "Yılmaz"
        make.entitlement(child, Category.TRIPS, rule=BudgetRule(RuleKind.TOTAL, 15_000))
        card = issue_card(session, by=system, child_id=child.id, now=NOW, kek=KEK)
        partner = make.partner(issuer, {Category.TRIPS})
        partner.name = "Tierpark Olderdissen"
        keys = trusted(session, issuer.id)
        ids = []
        for n, amount in enumerate((4_000, 2_500)):
            result = book(
                session, by=at_counter(partner.id), credential=card.credential, trusted=keys,
                category=Category.TRIPS, amount_cents=amount, idempotency_key=f"k{n}", now=NOW,
            )  # fmt: skip
            ids.append(result.booking.id)
        cancel_booking(session, by=at_counter(partner.id), booking_id=ids[1], now=NOW)
        code = new_access_code(session, by=system, household_id=household.id, now=NOW)
        return {
            "issuer_id": issuer.id,
            "household_id": household.id,
            "child_id": child.id,
            "card_id": card.id,
            "code": code,
            "birth": child.birth_date,
            **people,
        }


def test_the_childs_page_shows_balances_bookings_cancellations_and_card_history(app, desk):
    page = _as(app, desk["caseworker"]).get(f"/children/{desk['child_id']}", base_url=HTTPS)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "150,00\xa0€ insgesamt" in html  # what was approved, in words
    assert "Tierpark Olderdissen" in html
    rows = re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>Tierpark Olderdissen</td>.*?</tr>",
                      html, re.S)  # fmt: skip
    amounts = [re.findall(r"<td>([^<]*€[^<]*)</td>", row) for row in rows]
    # newest first: the cancellation, then the two bookings; what was left afterwards
    assert amounts == [
        ["storniert: -25,00\xa0€", "110,00\xa0€"],
        ["25,00\xa0€", "85,00\xa0€"],
        ["40,00\xa0€", "110,00\xa0€"],
    ]
    assert "Heute übrig" in html and "ausgestellt" in html


def test_a_card_the_family_blocked_waits_in_the_queue_until_a_caseworker_issues_a_new_one(
    app, desk, committed
):
    with committed.begin() as session:
        household = session.get(Household, desk["household_id"])
        family = Family(household.id, household.issuer_id)
        report_card_lost(session, by=family, child_id=desk["child_id"], now=NOW)
    caseworker = _as(app, desk["caseworker"])
    start = caseworker.get("/", base_url=HTTPS).get_data(as_text=True)
    assert "Von Familien gesperrte Karten" in start and "Güneş Yılmaz" in start
    child_page = caseworker.get(f"/children/{desk['child_id']}", base_url=HTTPS)
    assert "Familie Yılmaz" in child_page.get_data(as_text=True)  # who blocked it, in words
    r = _post(caseworker, f"/cards/{desk['card_id']}/reissue")
    assert r.status_code == 303
    with committed() as session:
        cards = session.scalars(
            select(Card).where(Card.child_id == desk["child_id"]).order_by(Card.id)
        ).all()
        assert [c.status for c in cards] == [CardStatus.REVOKED, CardStatus.ACTIVE]
        assert cards[0].replaced_by_id == cards[1].id and cards[1].version == 2
    assert "Güneş Yılmaz" not in caseworker.get("/", base_url=HTTPS).get_data(as_text=True)
    assert _post(caseworker, f"/cards/{desk['card_id']}/reissue").status_code == 303  # refused
    with committed() as session:
        assert (
            len(session.scalars(select(Card).where(Card.child_id == desk["child_id"])).all()) == 2
        )
        with pytest.raises(DomainError) as caught:
            replace_blocked_card(
                session, by=Staff.system(desk["issuer_id"], "t"), card_id=cards[1].id,
                now=NOW, kek=KEK,
            )  # fmt: skip
        assert caught.value.code == "not_blocked"  # an active card is replaced elsewhere


def test_another_issuers_staff_cannot_see_the_child_or_reissue(app, desk, committed):
    with committed.begin() as session:
        stranger = Factory(session).staff(Factory(session).issuer(), Role.ADMINISTRATOR).username
    client = _as(app, stranger)
    assert client.get(f"/children/{desk['child_id']}", base_url=HTTPS).status_code == 404
    assert _post(client, f"/cards/{desk['card_id']}/reissue").status_code == 404


@pytest.mark.parametrize("typed", ["yilmaz", "YILMAZ", "Yılmaz", "yılmaz", "gunes", "GÜNEŞ"])
def test_search_finds_names_as_they_are_typed(app, desk, typed):
    found = _as(app, desk["approver"]).get(f"/households?q={typed}", base_url=HTTPS)
    assert f"/households/{desk['household_id']}" in found.get_data(as_text=True), typed


def test_search_folds_german_spellings_and_takes_wildcards_literally(app, desk, committed):
    with committed.begin() as session:
        make = Factory(session)
        from youcard.domain.models import Issuer

        issuer = session.get(Issuer, desk["issuer_id"])
        household = make.household(issuer)
        household.family_name, household.reference = "Müller-Straße", "BI-100%"
        other = household.id
    client = _as(app, desk["approver"])
    for typed in ("mueller", "MULLER", "strasse", "müller-straße", "100%"):
        page = client.get(f"/households?q={typed}", base_url=HTTPS).get_data(as_text=True)
        assert f"/households/{other}" in page, typed
    page = client.get("/households?q=%25", base_url=HTTPS).get_data(as_text=True)
    assert f"/households/{desk['household_id']}" not in page  # "%" is not "anything"
    api = client.get("/households?q=_", base_url=HTTPS).get_data(as_text=True)
    assert f"/households/{desk['household_id']}" not in api


def test_the_card_lost_page_says_what_happens_next_with_the_offices_details(
    client, desk, committed
):
    _sign_in(client, desk["code"], desk["birth"].strftime("%d.%m.%Y"))
    ask = client.get(f"/family/children/{desk['child_id']}/lost?lang=tr", base_url=HTTPS)
    html = ask.get_data(as_text=True)
    assert "Bürgeramt Mitte" in html and "0521 51-0" in html and "yeni bir kart" in html
    r = client.post(
        f"/family/children/{desk['child_id']}/lost",
        data={"csrf_token": _csrf(client, "/family")},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 303
    done = client.get(r.headers["Location"], base_url=HTTPS).get_data(as_text=True)
    assert "Bundan sonra" in done and "Bürgeramt Mitte" in done and "Mo 8–12" in done


def test_the_cards_back_names_the_office_to_call(app, desk):
    pdf = _as(app, desk["approver"]).get(f"/cards/{desk['card_id']}.pdf", base_url=HTTPS)
    assert pdf.status_code == 200
    document = pypdfium2.PdfDocument(io.BytesIO(pdf.data))
    back = document[1].get_textpage().get_text_range()
    assert "Bürgeramt Mitte · Tel. 0521 51-0" in back


def test_irreversible_actions_ask_first(app, desk):
    """Blocking a card and rotating the key sit behind a question that says what follows."""
    approver, admin = _as(app, desk["approver"]), _as(app, desk["administrator"])
    family = approver.get(f"/households/{desk['household_id']}", base_url=HTTPS).get_data(
        as_text=True
    )
    question = family.index("<summary>Karte sperren …</summary>")
    assert question < family.index("Karte verloren: sperren") and "nicht entsperren" in family
    keys = admin.get("/admin/keys", base_url=HTTPS).get_data(as_text=True)
    assert keys.index("<summary>Signaturschlüssel wechseln …</summary>") < keys.index(
        'action="/admin/keys/rotate"'
    )


def test_the_approval_queue_shows_what_is_decided_and_who_recorded_it(app, desk, committed):
    with committed.begin() as session:
        from youcard.domain.models import Child, StaffUser
        from youcard.operations.entitlements import record_entitlement

        recorder = session.scalars(
            select(StaffUser).where(StaffUser.username == desk["caseworker"])
        ).one()
        record_entitlement(
            session, child_id=desk["child_id"], category=Category.PARTICIPATION,
            valid_from=NOW.date().replace(day=1), valid_until=NOW.date().replace(day=1, month=12),
            by=Staff.of(recorder), now=NOW,
        )  # fmt: skip
        assert session.get(Child, desk["child_id"])
    page = _as(app, desk["approver"]).get("/approvals", base_url=HTTPS).get_data(as_text=True)
    assert "15,00\xa0€ im Monat" in page and recorder.display_name in page
    assert "01.03.2026" in page or "1. März 2026" in page


def test_the_families_list_pages_by_reference_keeps_the_search_and_counts_all(
    app, desk, committed, monkeypatch
):
    import issuer.households

    monkeypatch.setattr(issuer.households, "PAGE", 2)
    with committed.begin() as session:
        from youcard.domain.models import Issuer

        make = Factory(session)
        issuer_row = session.get(Issuer, desk["issuer_id"])
        for n in range(4):
            household = make.household(issuer_row)
            household.reference, household.family_name = f"BI-P-{n}", "Öztürk"
    client = _as(app, desk["caseworker"])
    first = client.get("/households?q=ozturk", base_url=HTTPS).get_data(as_text=True)
    assert "4 Familien; die ersten 2 nach Aktenzeichen." in first
    assert ">BI-P-0</a>" in first and ">BI-P-1</a>" in first and "BI-P-2" not in first
    following = re.search(r'href="(/households\?[^"]*after=[^"]*)"', first).group(1)
    assert "q=ozturk" in following
    second = client.get(following.replace("&amp;", "&"), base_url=HTTPS).get_data(as_text=True)
    assert ">BI-P-2</a>" in second and ">BI-P-3</a>" in second and ">BI-P-1</a>" not in second
    assert "Nächste Seite" not in second and "Erste Seite" in second


def test_the_approval_queue_pages_oldest_first_and_counts_all(app, desk, committed, monkeypatch):
    import issuer.approvals

    monkeypatch.setattr(issuer.approvals, "QUEUE_PAGE", 2)
    with committed.begin() as session:
        from youcard.domain.models import Child, Issuer, StaffUser
        from youcard.operations.entitlements import record_entitlement

        recorder = session.scalars(
            select(StaffUser).where(StaffUser.username == desk["caseworker"])
        ).one()
        child = session.get(Child, desk["child_id"])
        make = Factory(session)
        for n in range(3):
            other = make.child(session.get(Issuer, child.issuer_id), household=child.household)
            other.given_name = f"Wartend{n}"
            record_entitlement(
                session, child_id=other.id, category=Category.TRIPS,
                valid_from=NOW.date().replace(day=1), valid_until=NOW.date().replace(month=12),
                by=Staff.of(recorder), now=NOW, rule=BudgetRule(RuleKind.TOTAL, 5_000),
            )  # fmt: skip
    approver = _as(app, desk["approver"])
    first = approver.get("/approvals", base_url=HTTPS).get_data(as_text=True)
    said = "3 Leistungen warten auf Ihre Entscheidung.\nDiese Seite zeigt die ältesten 2."
    assert said in first
    assert "Wartend0" in first and "Wartend1" in first and "Wartend2" not in first
    following = re.search(r'href="(/approvals\?after=\d+)"', first).group(1)
    second = approver.get(following, base_url=HTTPS).get_data(as_text=True)
    assert (
        "Wartend2" in second and "Wartend1" not in second and "Diese Seite zeigt 1 davon." in second
    )
    assert approver.get("/approvals?after=x", base_url=HTTPS).status_code == 422


def test_the_childs_page_shows_its_mandates_and_staff_end_one(app, desk, committed, staff):
    from youcard.domain.models import Child, Issuer, Mandate
    from youcard.operations import cards as card_ops
    from youcard.operations.mandates import MandateTerms, create_mandate
    from youcard.policy import Counter

    with committed.begin() as session:
        make = Factory(session)
        child = session.get(Child, desk["child_id"])
        issuer_row = session.get(Issuer, child.issuer_id)
        make.signing_key(issuer_row)
        card = card_ops.active_card(session, child.id) or make.card(child)
        make.entitlement(child, Category.PARTICIPATION)
        partner = make.partner(issuer_row, {Category.PARTICIPATION})
        partner.name = "Musikschule Hamm"
        session.flush()
        mandate_id = create_mandate(
            session, by=Counter(partner.id, partner.name, frozenset()),
            credential=card.credential, trusted=trusted(session, child.issuer_id), now=NOW,
            terms=MandateTerms("participation", "S-33", 1_000, 15),
        ).id  # fmt: skip
    caseworker = _as(app, desk["caseworker"])
    page = caseworker.get(f"/children/{desk['child_id']}", base_url=HTTPS).get_data(as_text=True)
    assert "Musikschule Hamm" in page and "S-33" in page and "10,00\xa0€ (am 15.)" in page
    end = f"/children/{desk['child_id']}/mandates/{mandate_id}/end"
    other_name, _issuer = staff(Role.CASEWORKER)
    assert _post(_as(app, other_name), end).status_code == 404  # another city's child
    assert _post(caseworker, end).status_code == 303
    with committed() as session:
        ended = session.get(Mandate, mandate_id)
        assert ended.status == "ended" and ended.ended_by.startswith("staff:")
    page = caseworker.get(f"/children/{desk['child_id']}", base_url=HTTPS).get_data(as_text=True)
    assert "beendet am" in page


def test_an_erased_familys_pages_say_so_and_show_no_names(app, desk, committed):
    from youcard.domain.models import Household
    from youcard.privacy.retention import erase_household

    with committed.begin() as session:
        erase_household(session, session.get(Household, desk["household_id"]), NOW)
    client = _as(app, desk["caseworker"])
    page = client.get(f"/households/{desk['household_id']}", base_url=HTTPS)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Familie (gelöscht)" in html and "wurden am" in html and "gelöscht" in html
    assert "Yılmaz" not in html and "Güneş" not in html and "BI-4711" in html
    child = client.get(f"/children/{desk['child_id']}", base_url=HTTPS)
    assert child.status_code == 200 and "geboren" not in child.get_data(as_text=True)
    assert "Tierpark Olderdissen" in child.get_data(as_text=True)  # the bookings stay
    found = client.get("/households?q=BI-4711", base_url=HTTPS).get_data(as_text=True)
    assert f"/households/{desk['household_id']}" in found  # by its reference
    assert f"/households/{desk['household_id']}" not in client.get(
        "/households?q=yilmaz", base_url=HTTPS).get_data(as_text=True)  # fmt: skip
