"""#27.4 on the pages: each refusal says what is wrong, in words and naming the field or the
column; never "the form has expired" for what is not an expired form, never "something
went wrong" for a file over the limit."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from tests.factories import Factory
from tests.issuer.test_households import _as, _household, _post
from tests.issuer.test_imports import HEADER, _upload
from tests.issuer.test_settlement_pages import _city_with_february, _prepare
from tests.issuer.test_staff_login import HTTPS, SAME_ORIGIN, _csrf
from youcard.domain.enums import Role
from youcard.domain.models import Entitlement, Household, ImportBatch


def _office(committed):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        return issuer.id, make.staff(issuer, Role.CASEWORKER).username


def _rows(committed, model, issuer_id) -> int:
    """How many rows of `model` the issuer has (a refusal wrote none)."""
    with committed() as session:
        query = select(func.count()).select_from(model).where(model.issuer_id == issuer_id)
        return int(session.scalar(query) or 0)


def test_a_nul_in_a_form_says_so_and_not_that_the_form_expired(app, committed):
    issuer_id, caseworker = _office(committed)
    client = _as(app, caseworker)
    r = _post(client, "/households/new", {"reference": "HAM-NUL", "family_name": "No\x00wak"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "Steuerzeichen" in page and "abgelaufen" not in page
    assert _rows(committed, Household, issuer_id) == 0


def test_an_upload_over_64_mb_says_the_limit(app, committed):
    _issuer_id, caseworker = _office(committed)
    client = _as(app, caseworker)
    form = {
        "csrf_token": _csrf(client, "/imports"),
        "file": (io.BytesIO(b"x" * (70 * 2**20)), "gross.csv"),
    }
    r = client.post(
        "/imports",
        data=form,
        base_url=HTTPS,
        headers=SAME_ORIGIN,
        content_type="multipart/form-data",
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 413 and "64 MB" in page and "Etwas ist schiefgegangen" not in page


def test_a_missing_column_is_named_on_the_page(app, committed):
    issuer_id, caseworker = _office(committed)
    client = _as(app, caseworker)
    header = HEADER.replace("child_ref;", "kind;")
    r = _upload(client, (header + "\r\nD;H;P;Kaya;Ali;01.05.2014;lunch;;;;\r\n").encode())
    assert r.status_code == 303
    told = client.get("/imports", base_url=HTTPS).get_data(as_text=True)
    assert "Fehlende Spalten: child_ref." in told and "Unbekannte Spalten: kind." in told
    assert _rows(committed, ImportBatch, issuer_id) == 0


def test_a_negative_trip_amount_blames_the_amount(app, committed):
    _issuer_id, caseworker = _office(committed)
    client = _as(app, caseworker)
    household = _household(client, "HAM-TRIP-1")
    r = _post(
        client,
        f"/households/{household}/children",
        {"given_name": "Elif", "family_name": "Kaya", "birth_date": "2015-03-14"},
    )
    assert r.status_code in (302, 303)
    with committed() as session:
        from youcard.domain.models import Child

        child_id = session.scalars(select(Child.id).where(Child.household_id == household)).one()
    r = _post(
        client,
        f"/children/{child_id}/entitlements",
        {
            "category": "trips",
            "valid_from": "2026-03-01",
            "valid_until": "2026-07-31",
            "amount_euros": "-5",
        },
    )
    assert r.status_code == 303
    told = client.get(f"/households/{household}", base_url=HTTPS).get_data(as_text=True)
    assert "Bewilligter Betrag in Euro (nur Ausflüge)" in told, re.findall(r"Bitte.{0,300}", told)
    assert "gültige Daten" not in told
    with committed() as session:
        assert not session.scalar(
            select(func.count()).select_from(Entitlement).where(Entitlement.child_id == child_id)
        )


def test_an_execution_date_in_the_past_far_ahead_or_unreadable_is_refused(app, committed):
    admin, _issuer_id, _partner_id, _credential = _city_with_february(committed)
    client = _as(app, admin)
    run_url = _prepare(client)
    page = client.get(run_url, base_url=HTTPS).get_data(as_text=True)
    import re

    net = re.search(r'name="expected_net_cents" value="(-?\d+)"', page).group(1)
    assert _post(client, run_url + "/finalize", {"expected_net_cents": net}).status_code == 302
    _post(client, "/admin/settlements/account", {"iban": "DE02 1203 0000 0000 2020 51", "bic": ""})
    for asked in ("2020-01-01", "2300-01-01", "garbage", "2026-02-30"):
        r = client.get(f"{run_url}/sepa.xml?execution_date={asked}", base_url=HTTPS)
        assert r.status_code == 302, asked  # no file: the page says why
        told = client.get(run_url, base_url=HTTPS).get_data(as_text=True)
        assert "Ausführungsdatum" in told, asked
    chosen = client.get(f"{run_url}/sepa.xml?execution_date=2026-03-20", base_url=HTTPS)
    assert chosen.status_code == 200 and b"2026-03-20" in chosen.get_data()
    usual = client.get(f"{run_url}/sepa.xml", base_url=HTTPS)  # none asked: the next working day
    assert usual.status_code == 200 and b"2026-03-17" in usual.get_data()


def test_the_import_page_says_per_benefit_which_amount_columns_it_reads(app, committed):
    """#27.5: from the usual rules themselves (DEFAULT_RULES), so the page cannot drift."""
    _issuer_id, caseworker = _office(committed)
    page = _as(app, caseworker).get("/imports", base_url=HTTPS).get_data(as_text=True)
    assert "Höchstpreis je Essen (leer: 5,00\u00a0€) und Essen je Tag (leer: 1)" in page
    assert "Die bewilligten Stunden (leer: 35)" in page and "valid_until 31.07." in page
    assert "Der Betrag je Monat (leer: 15,00\u00a0€)" in page
