"""The caseworkers' pages: families, children, entitlements with four eyes, cards."""

from __future__ import annotations

import io
from datetime import date

import pypdfium2
import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.factories import NOW, Factory, check_credential
from tests.issuer.test_staff_login import HTTPS, SAME_ORIGIN, _csrf, _login
from tests.qr import qr_texts
from youcard.domain.enums import CardStatus, EntitlementStatus, Role
from youcard.domain.models import Card, Child, Entitlement, Household
from youcard.policy import Staff


@pytest.fixture
def office(committed):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        people = {role: make.staff(issuer, role).username for role in Role}
        return {"issuer_id": issuer.id, **{role.value: name for role, name in people.items()}}


def _as(app, username):
    client = app.test_client()
    _login(client, username)
    return client


def _post(client, path, data=None):
    return client.post(
        path,
        data={"csrf_token": _csrf(client, "/households"), **(data or {})},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )


def _household(client, reference="HAM-2026-0100", family_name="Yılmaz"):
    r = _post(client, "/households/new", {"reference": reference, "family_name": family_name})
    assert r.status_code == 302, r.get_data(as_text=True)
    return int(r.headers["Location"].rstrip("/").split("/")[-1])


def _entitlements(committed, household_id):
    with committed() as session:
        return session.scalars(
            select(Entitlement)
            .join(Child, Child.id == Entitlement.child_id)
            .where(Child.household_id == household_id)
            .order_by(Entitlement.id)
        ).all()


def test_record_approve_issue_and_download_a_card(app, office, committed):
    caseworker, approver = _as(app, office["caseworker"]), _as(app, office["approver"])
    household_id = _household(caseworker)
    r = _post(
        caseworker,
        f"/households/{household_id}/children",
        {"given_name": "Elif", "family_name": "Yılmaz", "birth_date": "2015-03-14"},
    )
    assert r.status_code == 303
    with committed() as session:
        child_id = session.scalar(select(Child.id).where(Child.household_id == household_id))
    r = _post(
        caseworker,
        f"/children/{child_id}/entitlements",
        {"category": "participation", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
    )
    assert r.status_code == 303
    (entitlement,) = _entitlements(committed, household_id)
    assert entitlement.status is EntitlementStatus.RECORDED

    # Four eyes: the caseworker is not offered the button and may not approve.
    page = caseworker.get(f"/households/{household_id}", base_url=HTTPS).get_data(as_text=True)
    assert "Bewilligen" not in page and "Eine Kollegin oder ein Kollege muss" in page
    assert _post(caseworker, f"/entitlements/{entitlement.id}/approve").status_code == 403

    queue = approver.get("/approvals", base_url=HTTPS).get_data(as_text=True)
    assert "Elif Yılmaz" in queue
    assert _post(approver, f"/entitlements/{entitlement.id}/approve").status_code == 303
    (entitlement,) = _entitlements(committed, household_id)
    assert entitlement.status is EntitlementStatus.APPROVED

    assert _post(approver, f"/children/{child_id}/card").status_code == 303
    with committed() as session:
        card = session.scalars(select(Card).where(Card.child_id == child_id)).one()
        assert check_credential(session, card.credential, now=NOW).valid
    page = approver.get(f"/households/{household_id}", base_url=HTTPS).get_data(as_text=True)
    assert "45,00\xa0€" in page  # three months of 15 EUR accrued by 16 March

    png = approver.get(f"/cards/{card.id}.png", base_url=HTTPS)
    assert png.mimetype == "image/png"
    assert qr_texts(Image.open(io.BytesIO(png.data))) == [card.credential]
    pdf = approver.get(f"/cards/{card.id}.pdf", base_url=HTTPS)
    assert pdf.mimetype == "application/pdf"
    front = pypdfium2.PdfDocument(pdf.data)[0].render(scale=300 / 72).to_pil()
    assert qr_texts(front) == [card.credential]
    assert approver.get(f"/cards/{card.id}.svg", base_url=HTTPS).mimetype == "image/svg+xml"


def test_an_administrator_cannot_approve_what_they_recorded(app, office, committed, make_child):
    admin = _as(app, office["administrator"])
    household_id, child_id = make_child(office)
    _post(
        admin,
        f"/children/{child_id}/entitlements",
        {"category": "lunch", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
    )
    (entitlement,) = _entitlements(committed, household_id)
    assert "Bewilligen" not in admin.get(f"/households/{household_id}", base_url=HTTPS).get_data(
        as_text=True
    )
    r = _post(admin, f"/entitlements/{entitlement.id}/approve")
    assert r.status_code == 303
    page = admin.get(f"/households/{household_id}", base_url=HTTPS).get_data(as_text=True)
    assert "Nicht möglich: Sie haben diese Leistung erfasst" in page
    (entitlement,) = _entitlements(committed, household_id)
    assert entitlement.status is EntitlementStatus.RECORDED


@pytest.fixture
def make_child(committed):
    def build(office):
        with committed.begin() as session:
            household = Household(
                issuer_id=office["issuer_id"],
                reference=f"R-{id(session)}",
                family_name="Muster",
                created_at=NOW,
            )
            session.add(household)
            session.flush()
            child = Child(
                issuer_id=office["issuer_id"],
                household_id=household.id,
                given_name="Mia",
                family_name="Muster",
                birth_date=date(2016, 6, 1),
                created_at=NOW,
            )
            session.add(child)
            session.flush()
            return household.id, child.id

    return build


def test_bulk_approval_and_rejection_with_a_reason(app, office, committed, make_child):
    caseworker, approver = _as(app, office["caseworker"]), _as(app, office["approver"])
    household_id, child_id = make_child(office)
    for category in ("participation", "lunch", "tutoring"):
        _post(
            caseworker,
            f"/children/{child_id}/entitlements",
            {"category": category, "valid_from": "2026-01-01", "valid_until": "2026-07-31"},
        )
    first, second, third = _entitlements(committed, household_id)
    r = _post(approver, "/approvals", {"entitlement_id": [str(first.id), str(second.id)]})
    assert r.status_code == 303
    assert _post(approver, f"/entitlements/{third.id}/reject", {"reason": ""}).status_code == 303
    statuses = [e.status for e in _entitlements(committed, household_id)]
    assert statuses == [
        EntitlementStatus.APPROVED,
        EntitlementStatus.APPROVED,
        EntitlementStatus.RECORDED,
    ]
    _post(approver, f"/entitlements/{third.id}/reject", {"reason": "Kein Nachweis"})
    assert _entitlements(committed, household_id)[2].status is EntitlementStatus.REJECTED


def test_a_lost_card_is_replaced_and_the_old_one_fails(app, office, committed, make_child):
    caseworker, approver = _as(app, office["caseworker"]), _as(app, office["approver"])
    household_id, child_id = make_child(office)
    _post(
        caseworker,
        f"/children/{child_id}/entitlements",
        {"category": "participation", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
    )
    (entitlement,) = _entitlements(committed, household_id)
    _post(approver, f"/entitlements/{entitlement.id}/approve")
    _post(approver, f"/children/{child_id}/card")
    with committed() as session:
        old = session.scalars(select(Card).where(Card.child_id == child_id)).one()
    assert _post(approver, f"/cards/{old.id}/replace", {"reason": "verloren"}).status_code == 303
    with committed() as session:
        cards = session.scalars(
            select(Card).where(Card.child_id == child_id).order_by(Card.id)
        ).all()
        assert [c.status for c in cards] == [CardStatus.REPLACED, CardStatus.ACTIVE]
        assert check_credential(session, cards[0].credential, now=NOW).reason == "revoked"
        assert check_credential(session, cards[1].credential, now=NOW).valid


def test_bad_input_is_answered_and_changes_nothing(app, office, committed, make_child):
    caseworker = _as(app, office["caseworker"])
    r = _post(caseworker, "/households/new", {"reference": "", "family_name": "x" * 201})
    assert r.status_code == 422 and "field-error" in r.get_data(as_text=True)
    _household(caseworker, reference="HAM-DUP")
    r = _post(caseworker, "/households/new", {"reference": "HAM-DUP", "family_name": "Zwei"})
    assert r.status_code == 422 and "bereits vergeben" in r.get_data(as_text=True)
    household_id, child_id = make_child(office)
    _post(
        caseworker,
        f"/households/{household_id}/children",
        {"given_name": "Zukunft", "family_name": "Kind", "birth_date": "2099-01-01"},
    )
    _post(
        caseworker,
        f"/households/{household_id}/children",
        {"given_name": "", "family_name": "Kind", "birth_date": "kein Datum"},
    )
    _post(
        caseworker,
        f"/children/{child_id}/entitlements",
        {"category": "participation", "valid_from": "2026-12-31", "valid_until": "2026-01-01"},
    )
    _post(
        caseworker,
        f"/children/{child_id}/entitlements",
        {"category": "school_supplies", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
    )
    _post(
        caseworker,
        f"/children/{child_id}/entitlements",
        {"category": "trips", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
    )
    with committed() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Household).where(Household.reference == "HAM-DUP")
            )
            == 1
        )
        assert (
            session.scalar(
                select(func.count()).select_from(Child).where(Child.household_id == household_id)
            )
            == 1
        )
    assert _entitlements(committed, household_id) == []


def test_another_issuers_families_and_cards_are_not_found(app, office, make_child, committed):
    household_id, child_id = make_child(office)
    with committed.begin() as session:
        make = Factory(session)
        outsider = make.staff(make.issuer(), Role.ADMINISTRATOR).username
    client = _as(app, outsider)
    page = client.get(f"/households/{household_id}", base_url=HTTPS)
    assert page.status_code == 404 and page.mimetype == "text/html"  # the page, not a problem
    assert (
        _post(
            client,
            f"/households/{household_id}/children",
            {"given_name": "X", "family_name": "Y", "birth_date": "2015-01-01"},
        ).status_code
        == 404
    )
    assert _post(client, f"/children/{child_id}/card").status_code == 404
    assert f"/households/{household_id}" not in client.get(
        "/households?q=mia", base_url=HTTPS
    ).get_data(as_text=True)


def test_search_by_reference_and_by_a_childs_name(app, office, make_child):
    household_id, _ = make_child(office)
    client = _as(app, office["approver"])
    found = client.get("/households?q=mia", base_url=HTTPS).get_data(as_text=True)
    assert f"/households/{household_id}" in found
    assert "Keine Familie gefunden" in client.get("/households?q=zzzz", base_url=HTTPS).get_data(
        as_text=True
    )


PAGES = {
    ("GET", "/households"): set(Role),
    ("GET", "/households/new"): {Role.CASEWORKER, Role.ADMINISTRATOR},
    ("GET", "/approvals"): {Role.APPROVER, Role.ADMINISTRATOR},
    ("POST", "/approvals"): {Role.APPROVER, Role.ADMINISTRATOR},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("route", list(PAGES))
def test_role_matrix_of_the_family_pages(app, office, role, route):
    method, path = route
    client = _as(app, office[role.value])
    r = _post(client, path) if method == "POST" else client.get(path, base_url=HTTPS)
    assert (r.status_code != 403) == (role in PAGES[route]), (role, route, r.status_code)


def test_print_all_pending_cards_once_as_one_a4_pdf(app, office, committed, monkeypatch):
    from tests.factories import KEK
    from youcard.operations import card_printing
    from youcard.operations.cards import issue_card

    monkeypatch.setattr(card_printing, "PRINT_PART", 2)  # a city's queue holds thousands

    with committed.begin() as session:
        make = Factory(session)
        from youcard.domain.models import Issuer

        issuer_row = session.get(Issuer, office["issuer_id"])
        credentials = []
        for _ in range(3):
            child = make.child(issuer_row)
            make.entitlement(child)
            credentials.append(
                issue_card(
                    session,
                    child_id=child.id,
                    by=Staff.system(issuer_row.id, "t"),
                    now=NOW,
                    kek=KEK,
                ).credential
            )
    approver = _as(app, office["approver"])
    queue = approver.get("/cards/print", base_url=HTTPS).get_data(as_text=True)
    assert "3 Karte(n) warten auf den Druck." in queue and "Die ältesten 2 als ein A4-PDF" in queue
    assert queue.count("<li>Kind") == 2 and "Nächste Seite" in queue
    rest = approver.get(queue.split('href="')[-1].split('"')[0].replace("&amp;", "&"),
                        base_url=HTTPS).get_data(as_text=True)  # fmt: skip
    assert rest.count("<li>Kind") == 1 and "Erste Seite" in rest
    printed = []
    for expected in (2, 1):
        r = _post(approver, "/cards/print.pdf")
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        document = pypdfium2.PdfDocument(r.data)
        assert len(document) == 2  # fronts, backs
        front = document[0].render(scale=200 / 72).to_pil()
        found = qr_texts(front)
        assert len(found) == expected
        printed += found
    assert sorted(printed) == sorted(credentials)
    again = _post(approver, "/cards/print.pdf")
    assert again.status_code == 303  # nothing left: each card is printed once
    assert "Keine Karte wartet auf den Druck." in approver.get(
        "/cards/print", base_url=HTTPS
    ).get_data(as_text=True)
    caseworker = _as(app, office["caseworker"])
    assert _post(caseworker, "/cards/print.pdf").status_code == 403


def test_edit_a_family_and_a_child(app, office, committed, make_child):
    caseworker = _as(app, office["caseworker"])
    household_id, child_id = make_child(office)
    form = caseworker.get(f"/households/{household_id}/edit", base_url=HTTPS).get_data(as_text=True)
    assert 'value="Muster"' in form
    r = _post(
        caseworker,
        f"/households/{household_id}/edit",
        {"reference": "HAM-NEU", "family_name": "Neu"},
    )
    assert r.status_code == 302
    r = _post(
        caseworker,
        f"/children/{child_id}/edit",
        {"given_name": "Mia", "family_name": "Neu", "birth_date": "2099-01-01"},
    )
    assert r.status_code == 422 and "Geburtsdatum liegt in der Zukunft" in r.get_data(as_text=True)
    r = _post(
        caseworker,
        f"/children/{child_id}/edit",
        {"given_name": "Mia", "family_name": "Neu", "birth_date": "2016-06-02"},
    )
    assert r.status_code == 302
    with committed() as session:
        household = session.get(Household, household_id)
        child = session.get(Child, child_id)
        assert (household.reference, household.family_name) == ("HAM-NEU", "Neu")
        assert (child.family_name, child.birth_date) == ("Neu", date(2016, 6, 2))
    approver = _as(app, office["approver"])
    assert approver.get(f"/children/{child_id}/edit", base_url=HTTPS).status_code == 403
