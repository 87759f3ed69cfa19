"""Settlement pages for administrators: prepare, review, finalize, download; other issuers'
runs stay hidden."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from sqlalchemy import select

from tests.domain.test_settlements import BIG
from tests.factories import Factory, at_counter, trusted
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS
from youcard.domain.enums import Category, Role, SettlementStatus
from youcard.domain.models import Booking, Settlement
from youcard.operations.booking import book

FEB = datetime(2026, 2, 10, 10, tzinfo=UTC)


def _city_with_february(committed, amounts=(1500, 2500)):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        admin = make.staff(issuer, Role.ADMINISTRATOR).username
        child = make.child(issuer)
        make.entitlement(child, Category.PARTICIPATION, rule=BIG)
        card = make.card(child)
        partner = make.partner(issuer, {Category.PARTICIPATION})
        for n, cents in enumerate(amounts):
            book(
                session, by=at_counter(partner.id), credential=card.credential,
                trusted=trusted(session), category=Category.PARTICIPATION, amount_cents=cents,
                idempotency_key=f"feb-{n}", now=FEB,
            )  # fmt: skip
        return admin, issuer.id, partner.id, card.credential


def _prepare(client, month="2026-02"):
    r = _post(client, "/admin/settlements", {"month": month})
    assert r.status_code == 302 and "/admin/settlements/" in r.headers["Location"], r.headers
    return r.headers["Location"]


def test_prepare_review_finalize_and_download(app, committed):
    admin, issuer_id, partner_id, _credential = _city_with_february(committed)
    client = _as(app, admin)
    run_url = _prepare(client)
    page = client.get(run_url, base_url=HTTPS).get_data(as_text=True)
    assert "Entwurf" in page and 'id="run-net">40,00' in page
    net = re.search(r'name="expected_net_cents" value="(-?\d+)"', page).group(1)
    assert net == "4000"
    r = _post(client, run_url + "/finalize", {"expected_net_cents": net})
    assert r.status_code == 302
    page = client.get(run_url, base_url=HTTPS).get_data(as_text=True)
    assert 'id="run-status">abgeschlossen' in page and "Diesen Monat abschließen" not in page
    with committed() as session:
        run = session.scalars(select(Settlement).where(Settlement.issuer_id == issuer_id)).one()
        assert run.status is SettlementStatus.FINALIZED
        assert all(b.settlement_id == run.id for b in session.scalars(
            select(Booking).where(Booking.partner_id == partner_id)))  # fmt: skip
    with client.get(run_url + "/bookings.csv", base_url=HTTPS) as streamed:  # closed: as a server
        rows = list(csv.DictReader(io.StringIO(streamed.get_data(as_text=True)), delimiter=";"))
    assert [r["amount_eur"] for r in rows] == ["15,00", "25,00"]
    no_account = client.get(run_url + "/sepa.xml", base_url=HTTPS)
    assert no_account.status_code == 302  # the city's account is missing: said, not a file
    assert _post(client, "/admin/settlements/account", {"iban": "DE00 1234"}).status_code == 302
    assert (
        _post(
            client, "/admin/settlements/account", {"iban": "DE02 1203 0000 0000 2020 51", "bic": ""}
        ).status_code
        == 302
    )
    xml = client.get(run_url + "/sepa.xml?execution_date=2026-03-20", base_url=HTTPS)
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    body = xml.get_data(as_text=True)
    assert "<CtrlSum>40.00</CtrlSum>" in body
    assert re.search(r"<ReqdExctnDt>\s*<Dt>2026-03-20</Dt>", body)
    assert "DE02120300000000202051" in body


def test_a_booking_after_review_is_shown_before_anything_is_finalized(app, committed):
    admin, _issuer_id, partner_id, credential = _city_with_february(committed)
    client = _as(app, admin)
    run_url = _prepare(client)
    with committed.begin() as session:  # a late booking, made in February
        book(
            session, by=at_counter(partner_id), credential=credential, trusted=trusted(session),
            category=Category.PARTICIPATION, amount_cents=700, idempotency_key="late", now=FEB,
        )  # fmt: skip
    _post(client, run_url + "/finalize", {"expected_net_cents": "4000"})
    page = client.get(run_url, base_url=HTTPS).get_data(as_text=True)
    assert "Entwurf" in page and 'id="run-net">47,00' in page
    assert "seit Ihrer Prüfung sind Buchungen hinzugekommen" in page


def test_the_current_month_cannot_be_settled_and_other_issuers_runs_are_hidden(app, committed):
    admin, *_ = _city_with_february(committed)
    client = _as(app, admin)
    r = _post(client, "/admin/settlements", {"month": "2026-03"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/settlements")
    assert "vorbei ist" in client.get("/admin/settlements", base_url=HTTPS).get_data(as_text=True)
    run_url = _prepare(client)
    other_admin, *_ = _city_with_february(committed)
    other = _as(app, other_admin)
    assert other.get(run_url, base_url=HTTPS).status_code == 404
    assert other.get(run_url + "/lines.csv", base_url=HTTPS).status_code == 404
    assert _post(other, run_url + "/finalize", {"expected_net_cents": "4000"}).status_code == 404
    for bad in ("2026-13", "x" * 500, ""):
        assert _post(client, "/admin/settlements", {"month": bad}).status_code == 302
    with committed() as session:
        assert session.scalar(select(Settlement.status).where(
            Settlement.id == int(run_url.rsplit("/", 1)[1]))) is SettlementStatus.DRAFT  # fmt: skip


def test_reports_page_chart_and_csvs_for_approvers_and_administrators(app, committed):
    admin, *_ = _city_with_february(committed)
    client = _as(app, admin)
    page = client.get("/admin/reports?year=2026", base_url=HTTPS).get_data(as_text=True)
    assert "Inanspruchnahme" in page and "100" in page.split('id="take-up">', 1)[1][:20]
    assert page.count('class="bar"') == 12 * 4  # a bar per month and category
    assert "40,00" in page  # February's participation
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get("/admin/reports/2026/categories.csv", base_url=HTTPS).get_data(
                    as_text=True
                )
            ),
            delimiter=";",
        )
    )
    participation = next(r for r in rows if r["category"] == "participation")
    assert participation["2026-02"] == "40,00" and participation["year"] == "40,00"
    takeup = client.get("/admin/reports/2026/takeup.csv", base_url=HTTPS).get_data(as_text=True)
    assert "participation;1;1;" in takeup
    assert client.get("/admin/reports?year=1999", base_url=HTTPS).status_code == 404
    assert client.get("/admin/reports?year=abc", base_url=HTTPS).status_code == 404
    other_admin, *_ = _city_with_february(committed, amounts=(999,))
    theirs = _as(app, other_admin).get("/admin/reports", base_url=HTTPS).get_data(as_text=True)
    assert "9,99" in theirs and "40,00" not in theirs
