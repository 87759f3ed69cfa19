"""The approval letter (PDF, DIN 5008) in German and the family's language, with the access
code; the day's batch in one PDF; the office's details; a family's address and language."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pypdfium2
import pytest
from sqlalchemy import select

from tests.factories import NOW, Factory
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS
from youcard.domain.budget import BudgetRule
from youcard.domain.contacts import OfficeDetails
from youcard.domain.enums import Category, Role, RuleKind
from youcard.domain.models import AuditEvent, Household, Issuer
from youcard.errors import DomainError
from youcard.operations.contacts import set_office_details
from youcard.operations.family import family_sign_in
from youcard.policy import Staff

OFFICE = OfficeDetails(
    name="Stadt Hamm, Bildung und Teilhabe",
    street="Theodor-Heuss-Platz 16",
    postal_code="59065",
    city="Hamm",
    phone="02381 17-0",
    email="but@stadt-hamm.example",
    hours="Mo–Fr 8–12 Uhr",
    family_url="https://youcard.hamm.example/family",
)


@pytest.fixture
def office(committed):
    """An issuer with its office details, a caseworker, an approver and an administrator."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        people = {role.value: make.staff(issuer, role).username for role in Role}
        set_office_details(session, by=Staff.system(issuer.id, "test"), details=OFFICE, now=NOW)
        return {"issuer_id": issuer.id, **people}


def _family(
    committed, issuer_id, *, language, reference, decided_at=NOW, children=1, name="Yılmaz"
):
    """A household with an address, children and approved benefits (decided at `decided_at`)."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = session.get(Issuer, issuer_id)
        household = make.household(issuer)
        household.reference, household.family_name = reference, name
        household.street, household.postal_code, household.city = "Ostring 5", "59065", "Hamm"
        household.language = language
        born = []
        for n in range(children):
            child = make.child(issuer, household=household)
            child.given_name = ("Ayşe", "Emre", "Deniz")[n]
            participation = make.entitlement(child, Category.PARTICIPATION)
            trips = make.entitlement(child, Category.TRIPS, rule=BudgetRule(RuleKind.TOTAL, 15_000))
            participation.decided_at = trips.decided_at = decided_at
            born.append(child.birth_date)
        return household.id, born


def _pages(pdf: bytes) -> list[str]:
    """Each page's text, its line breaks and no-break spaces as plain spaces."""
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    return [
        " ".join(page.get_textpage().get_text_range().replace("\xa0", " ").split())
        for page in document
    ]


def _letter(client, household_id, **form):
    r = _post(client, f"/households/{household_id}/letter.pdf", form)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/pdf"
    return r.data


def _code(text):
    import re

    return re.search(r"Zugangscode: ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})", text).group(1)


def test_the_letter_speaks_german_and_turkish_and_its_code_signs_the_family_in(
    app, office, committed
):
    household_id, (born,) = _family(
        committed, office["issuer_id"], language="tr", reference="HAM-L-1"
    )
    caseworker = _as(app, office["caseworker"])
    text = "\n".join(_pages(_letter(caseworker, household_id)))
    # the window: sender line, the family's address
    for line in ("Familie Yılmaz", "Ostring 5", "59065 Hamm", "Theodor-Heuss-Platz 16"):
        assert line in text
    # German and Turkish side by side: the benefits in words, the amounts, the period
    assert "Sehr geehrte Familie Yılmaz" in text and "Sayın Yılmaz ailesi" in text
    assert "15,00 € für jeden Monat" in text and "her ay için €15,00" in text
    assert "insgesamt bis zu 150,00 €" in text and "toplamda en fazla €150,00" in text
    assert "vom 01.01.2026 bis 31.12.2026" in text
    assert "Ayşe, geboren am" in text and "Ayşe, doğum tarihi" in text
    assert "https://youcard.hamm.example/family" in text and "02381 17-0" in text
    assert "Wo die Karte gilt: https://youcard.hamm.example/directory" in text
    assert "Kartın geçtiği yerler: https://youcard.hamm.example/directory" in text
    code = _code(text)
    assert f"Erişim kodunuz: {code}" in text
    with committed.begin() as session:
        assert family_sign_in(session, code=code, birth_date=born, now=NOW).id == household_id
        events = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == str(household_id))
        ).all()
        assert "household.letter" in events and "household.access_code" in events
    page = caseworker.get(f"/households/{household_id}", base_url=HTTPS).get_data(as_text=True)
    assert "Zugangscode erstellt am" in page and code not in page

    # Printed again: no new code unless asked; the letter names the first letter's day.
    again = "\n".join(_pages(_letter(caseworker, household_id)))
    assert "Zugangscode:" not in again and "am 16.03.2026 geschickt haben" in again
    renewed = _code("\n".join(_pages(_letter(caseworker, household_id, new_code="1"))))
    assert renewed != code
    with committed.begin() as session, pytest.raises(DomainError):
        family_sign_in(session, code=code, birth_date=born, now=NOW)


def test_an_arabic_letter_is_set_right_to_left_beside_the_german_one(app, office, committed):
    household_id, _ = _family(committed, office["issuer_id"], language="ar", reference="HAM-L-2")
    (text,) = _pages(_letter(_as(app, office["caseworker"]), household_id))
    assert "Sehr geehrte Familie Yılmaz" in text
    arabic = [ch for ch in text if "\u0600" <= ch <= "\u06ff" or "\ufe70" <= ch <= "\ufeff"]
    assert len(arabic) > 200  # the Arabic column is there, shaped (presentation forms)
    assert _code(text) in text.split("Zugangscode:")[1]


def _glyphs(pdf: bytes, wanted: str) -> list[tuple[str, float, float]]:
    """The first page's glyphs that are letters of `wanted`: (letter, left x, top y) in pt."""
    page = pypdfium2.PdfDocument(io.BytesIO(pdf))[0]
    text = page.get_textpage()
    found = []
    for i in range(text.count_chars()):
        letter = text.get_text_range(i, 1)
        if letter and letter in wanted:
            left, _bottom, _right, top = text.get_charbox(i)
            found.append((letter, left, page.get_height() - top))
    return found


def test_an_arabic_name_is_shaped_right_to_left_in_the_german_column_and_the_window(
    app, office, committed
):
    """#27.3: the post office reads the window; "حداد" printed as stored read "دادح",
    letters unjoined, in the address and in "Sehr geehrte Familie ..."."""
    household_id, _ = _family(
        committed, office["issuer_id"], language="de", reference="HAM-L-AR", name="حداد"
    )
    pdf = _letter(_as(app, office["caseworker"]), household_id)
    glyphs = _glyphs(pdf, "حداد")
    lines: dict[float, list[tuple[str, float]]] = {}
    for letter, x, y in sorted(glyphs, key=lambda glyph: glyph[2]):
        line = next((top for top in lines if y - top < 8), y)  # a line: within 8 pt
        lines.setdefault(line, []).append((letter, x))
    assert len(lines) >= 2, glyphs  # the address window and the salutation at least
    for line in lines.values():
        assert {letter for letter, _x in line} == set("حداد"), lines
        first = max(x for letter, x in line if letter == "ح")
        assert first == max(x for _letter, x in line), line  # ح, read first, stands rightmost


def test_a_long_return_line_stays_left_of_the_information_block(app, office, committed):
    long_name = "Stadt Hamm, Amt für Soziales, Bildung und Teilhabe, Abteilung Leistungen"
    with committed.begin() as session:
        set_office_details(
            session,
            by=Staff.system(office["issuer_id"], "test"),
            details=replace(OFFICE, name=long_name),
            now=NOW,
        )
    household_id, _ = _family(committed, office["issuer_id"], language="de", reference="HAM-RL")
    pdf = _letter(_as(app, office["caseworker"]), household_id)
    import pypdfium2.raw as pdfium

    page = pypdfium2.PdfDocument(io.BytesIO(pdf))[0]
    text = page.get_textpage()
    small = [  # the return line is the page's only text below 8 pt
        i
        for i in range(text.count_chars())
        if pdfium.FPDFText_GetFontSize(text, i) < 7.5 and text.get_text_range(i, 1).strip()
    ]
    said = "".join(text.get_text_range(i, 1) for i in small)
    assert said.startswith("StadtHamm,Amt") and said.endswith("…")  # smaller, then cut
    assert max(text.get_charbox(i)[2] for i in small) < 125 * 72 / 25.4  # the info block


def test_a_large_family_runs_onto_a_second_page_in_both_languages(app, office, committed):
    household_id, _ = _family(
        committed, office["issuer_id"], language="uk", reference="HAM-L-3", children=3
    )
    pages = _pages(_letter(_as(app, office["caseworker"]), household_id))
    text = "\n".join(pages)
    for name in ("Ayşe", "Emre", "Deniz"):
        assert f"{name}, geboren am" in text and f"{name}, дата народження" in text
    assert "Mit freundlichen Grüßen" in text and "З повагою" in text


def test_the_days_letters_come_as_one_pdf_in_reference_order(app, office, committed):
    issuer_id = office["issuer_id"]
    for reference in ("HAM-B-3", "HAM-B-1", "HAM-B-2"):
        _family(committed, issuer_id, language="de", reference=reference)
    _family(committed, issuer_id, language="de", reference="HAM-B-0",
            decided_at=NOW - timedelta(days=2))  # fmt: skip
    caseworker = _as(app, office["caseworker"])
    listed = caseworker.get("/letters", base_url=HTTPS).get_data(as_text=True)
    assert "HAM-B-1" in listed and "HAM-B-0" not in listed
    assert 'name="through" value="HAM-B-3"' in listed
    r = _post(caseworker, "/letters/today.pdf", {"through": "HAM-B-3"})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pages = _pages(r.data)
    references = [next(ref for ref in ("HAM-B-1", "HAM-B-2", "HAM-B-3") if ref in p) for p in pages]
    assert references == ["HAM-B-1", "HAM-B-2", "HAM-B-3"]
    assert all("Zugangscode:" in p for p in pages)  # none had a code yet
    again = _post(caseworker, "/letters/today.pdf", {"through": "HAM-B-3"})
    assert all("Zugangscode:" not in p for p in _pages(again.data))


def test_letters_are_for_recorders_of_the_familys_issuer_only(app, office, committed):
    household_id, _ = _family(committed, office["issuer_id"], language="de", reference="HAM-L-4")
    approver = _as(app, office["approver"])
    assert _post(approver, f"/households/{household_id}/letter.pdf").status_code == 403
    with committed.begin() as session:
        stranger = Factory(session).staff(Factory(session).issuer(), Role.CASEWORKER).username
    assert _post(_as(app, stranger), f"/households/{household_id}/letter.pdf").status_code == 404
    with committed() as session:
        assert session.get(Household, household_id).access_code_hash is None


def test_the_office_details_are_checked_and_shown_in_the_letter(app, office, committed):
    admin = _as(app, office["administrator"])
    page = admin.get("/admin/office", base_url=HTTPS).get_data(as_text=True)
    assert "Theodor-Heuss-Platz 16" in page
    good = {
        **vars(OFFICE),
        "phone": "02381 17-2222",
        "family_url": "https://karte.hamm.example",
        "hours": "Mo–Fr 8–12 Uhr ☎ 17-2222",
    }  # a symbol the font has is printed
    for field, bad in (
        ("email", "kein-at-zeichen"),
        ("family_url", "javascript:alert(1)"),
        ("family_url", "https://user:pw@evil.example"),
        ("phone", "call me"),
        ("hours", "Mo–Fr 8–12 Uhr \U0001f557"),  # #27.5: an emoji vanished from the letter
        ("name", "Bürgerbüro \U0001f3db"),
    ):
        r = _post(admin, "/admin/office", {**good, field: bad})
        assert r.status_code == 422, (field, bad)
        if field in ("hours", "name"):
            assert "nicht drucken" in r.get_data(as_text=True)
    with committed() as session:
        assert session.get(Issuer, office["issuer_id"]).office_phone == "02381 17-0"
    assert _post(admin, "/admin/office", good).status_code == 303
    household_id, _ = _family(committed, office["issuer_id"], language="de", reference="HAM-L-5")
    text = "\n".join(_pages(_letter(_as(app, office["caseworker"]), household_id)))
    assert "02381 17-2222" in text and "https://karte.hamm.example" in text
    assert "Mo–Fr 8–12 Uhr ☎ 17-2222" in text
    assert _post(_as(app, office["caseworker"]), "/admin/office", good).status_code == 403


def test_a_family_is_recorded_with_address_email_phone_and_language(app, office, committed):
    caseworker = _as(app, office["caseworker"])
    form = {
        "reference": "HAM-K-1", "family_name": "Kovalenko", "street": "Nordstraße 1",
        "postal_code": "59065", "city": "Hamm", "email": "Olena.K@Example.org",
        "phone": "+49 2381 555", "language": "uk",
    }  # fmt: skip
    for field, bad in (("email", "olena@"), ("language", "xx"), ("phone", "0800-CALL-ME")):
        r = _post(caseworker, "/households/new", {**form, field: bad})
        assert r.status_code == 422, (field, bad)
    r = _post(caseworker, "/households/new", form)
    assert r.status_code == 302
    with committed() as session:
        household = session.scalars(
            select(Household).where(
                Household.issuer_id == office["issuer_id"], Household.reference == "HAM-K-1"
            )
        ).one()
        assert (household.street, household.language) == ("Nordstraße 1", "uk")
        assert household.email == "Olena.K@example.org"  # the domain in lower case
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.object_id == str(household.id))
        ).all()
        assert all("Nordstraße" not in (e.data or "") for e in events)


def test_a_large_day_comes_a_page_and_a_pdf_at_a_time_in_the_same_order(
    app, office, committed, monkeypatch
):
    import issuer.letters

    monkeypatch.setattr(issuer.letters, "PART", 2)
    for reference in ("HAM-P-3", "HAM-P-1", "HAM-P-2"):
        _family(committed, office["issuer_id"], language="de", reference=reference)
    caseworker = _as(app, office["caseworker"])
    listed = caseworker.get("/letters", base_url=HTTPS).get_data(as_text=True)
    assert "Die Briefe dieser 2 Familien als ein PDF" in listed and "HAM-P-3" not in listed
    assert 'name="through" value="HAM-P-2"' in listed
    rest = caseworker.get("/letters?after=HAM-P-2", base_url=HTTPS).get_data(as_text=True)
    assert "HAM-P-3" in rest and 'name="after" value="HAM-P-2"' in rest
    first = _pages(_post(caseworker, "/letters/today.pdf", {"through": "HAM-P-2"}).data)
    second = _pages(
        _post(caseworker, "/letters/today.pdf", {"after": "HAM-P-2", "through": "HAM-P-3"}).data
    )
    assert ["HAM-P-1" in first[0], "HAM-P-2" in first[1], "HAM-P-3" in second[0]] == [True] * 3
    assert len(first) == 2 and len(second) == 1
    nothing = {"after": "HAM-P-3", "through": "HAM-P-9"}
    assert _post(caseworker, "/letters/today.pdf", nothing).status_code == 404
    assert _post(caseworker, "/letters/today.pdf", {"through": ""}).status_code == 422
