"""End to end in headless Chromium: a caseworker uploads an approvals file of 1,000 lines;
the page shows the check's progress and updates itself when the jobs are done; the report
downloads; an approver confirms it (the cards follow from the jobs: test_import_jobs.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from tests.browser.test_city_office_e2e import _sign_in_as
from tests.factories import PASSWORD, Factory
from youcard.clock import berlin_date, utcnow
from youcard.domain.budget import add_months
from youcard.domain.enums import EntitlementStatus, Role
from youcard.domain.models import Child, Entitlement
from youcard.jobs.imports import check_waiting_imports

HEADER = (
    "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;valid_from;"
    "valid_until;amount_eur;legal_basis"
)


def _file(prefix: str, lines: int) -> bytes:
    start = berlin_date(utcnow()).replace(day=1)
    end = add_months(start, 12) - timedelta(days=1)
    rows = [HEADER]
    for n in range(lines):
        rows.append(
            f"{prefix}-D-{n};{prefix}-H-{n // 2};{prefix}-P-{n};Öztürk;Kind{n};01.05.2014;"
            f"participation;{start:%d.%m.%Y};{end:%d.%m.%Y};;SGB2"
        )
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode()


def test_a_caseworker_uploads_1000_lines_and_an_approver_confirms_them(
    browser, server, committed, tmp_path
):
    with committed.begin() as session:
        make = Factory(session)
        office = make.issuer()
        make.signing_key(office)
        caseworker = make.staff(office, Role.CASEWORKER).username
        approver = make.staff(office, Role.APPROVER).username
        prefix = office.id
    path = tmp_path / "bewilligungen.csv"
    path.write_bytes(_file(prefix, 1_000))

    page = browser.new_context(accept_downloads=True, locale="de-DE").new_page()
    _sign_in_as(page, server, caseworker, PASSWORD)
    page.get_by_role("link", name="Importe").click()
    page.get_by_label("Bewilligungsdatei").set_input_files(str(path))
    page.get_by_role("button", name="Hochladen und prüfen").click()
    page.get_by_text("Die Prüfung läuft im Hintergrund").wait_for()
    assert page.locator("progress").count() == 1

    def jobs() -> None:  # the timer's run, while the page shows the progress
        check_waiting_imports(committed, utcnow)

    runner = threading.Thread(target=jobs)
    runner.start()
    page.get_by_text("wartet auf Bestätigung").first.wait_for(timeout=30_000)  # reloaded itself
    runner.join(30)
    assert page.locator("progress").count() == 0
    assert "1000 Zeilen; dies sind 50 davon." in page.content()
    with page.expect_download() as download:
        page.get_by_role("link", name="Der ganze Bericht als CSV").click()
    report = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert len(report) == 1_001 and report[1].endswith(";created;;")
    batch_url = page.url
    page.get_by_role("button", name="Abmelden").click()

    _sign_in_as(page, server, approver, PASSWORD)
    page.goto(batch_url)
    page.get_by_role("button", name="Bestätigen und bewilligen").click()
    page.get_by_text("Import bestätigt").wait_for()
    with committed() as session:
        approved = (
            select(func.count())
            .select_from(Entitlement)
            .join(Child)
            .where(Child.issuer_id == prefix, Entitlement.status == EntitlementStatus.APPROVED)
        )
        assert session.scalar(approved) == 1_000
    page.get_by_text("im Hintergrund ausgestellt").wait_for()  # the cards: the jobs' work
