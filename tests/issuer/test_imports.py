"""The import pages: a caseworker uploads an approvals file (bigger than any other form
takes), the jobs check it while the page shows the progress, the report pages and downloads
(formulas defused), an approver of the same issuer confirms it (four eyes) or rejects it;
other issuers see nothing of it; bad uploads are refused with a clear message."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import KEK, NOW, Factory
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS, SAME_ORIGIN, _csrf
from youcard.domain.enums import EntitlementStatus, Role
from youcard.domain.models import Child, Entitlement, ImportBatch
from youcard.jobs.imports import check_waiting_imports, issue_import_cards

HEADER = (
    "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;valid_from;"
    "valid_until;amount_eur;legal_basis"
)


@pytest.fixture
def office(committed):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        people = {role.value: make.staff(issuer, role).username for role in Role}
        people["approver2"] = make.staff(issuer, Role.APPROVER).username
        return {"issuer_id": issuer.id, **people}


def _file(issuer_id, lines=3, *, extra=()):
    rows = [HEADER]
    for n in range(lines):
        rows.append(
            f"{issuer_id}-D-{n};{issuer_id}-H-{n // 2};{issuer_id}-P-{n};Kaya;Kind{n};"
            f"01.05.2014;participation;01.02.2026;31.12.2026;;SGB2"
        )
    rows += list(extra)
    return ("\r\n".join(rows) + "\r\n").encode()


def _upload(client, data, *, name="bewilligungen.csv", dry_run=False):
    import io

    form = {"csrf_token": _csrf(client, "/imports"), "file": (io.BytesIO(data), name)}
    if dry_run:
        form["dry_run"] = "1"
    return client.post(
        "/imports", data=form, base_url=HTTPS, headers=SAME_ORIGIN,
        content_type="multipart/form-data",
    )  # fmt: skip


def _batch(committed, batch_id):
    with committed() as session:
        batch = session.get_one(ImportBatch, batch_id)
        session.expunge(batch)
        return batch


def test_upload_check_report_and_confirm_by_a_second_person(app, committed, office):
    caseworker = _as(app, office["caseworker"])
    data = _file(office["issuer_id"], 400)  # about 40 KB: more than any other form takes
    assert len(data) > 16 * 1024
    uploaded = _upload(caseworker, data)
    assert uploaded.status_code == 303, uploaded.get_data(as_text=True)
    path = uploaded.headers["Location"]
    batch_id = int(path.rsplit("/", 1)[1])
    waiting = caseworker.get(path, base_url=HTTPS).get_data(as_text=True)
    assert "<progress" in waiting and "progress.js" in waiting
    progress = caseworker.get(f"{path}/progress", base_url=HTTPS).get_json()
    assert progress == {"status": "queued", "done": 0, "total": 400, "checking": True}

    check_waiting_imports(committed, lambda: NOW)
    page = caseworker.get(path, base_url=HTTPS).get_data(as_text=True)
    assert "<progress" not in page and "wartet auf Bestätigung" in page
    assert "400 Zeilen; dies sind 50 davon." in page and "Nächste Seite" in page
    assert "Bestätigen und bewilligen" not in page  # who uploaded it cannot confirm it
    second = caseworker.get(f"{path}?after=51", base_url=HTTPS).get_data(as_text=True)
    assert "<td>52</td>" in second and "<td>51</td>" not in second
    report = caseworker.get(f"{path}/report.csv", base_url=HTTPS)
    rows = report.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert rows[0] == "line;decision_ref;outcome;code;reason" and len(rows) == 401
    assert rows[1] == f"2;{office['issuer_id']}-D-0;created;;"

    approver = _as(app, office["approver"])
    listing = approver.get("/imports", base_url=HTTPS).get_data(as_text=True)
    assert "bewilligungen.csv" in listing and "neu 400" in listing
    assert 'type="file"' not in listing  # approvers confirm; caseworkers upload
    assert "Bestätigen und bewilligen" in approver.get(path, base_url=HTTPS).get_data(as_text=True)
    done = _post(approver, f"/imports/{batch_id}/confirm")
    assert done.status_code == 303
    assert _batch(committed, batch_id).status == "confirmed"
    with committed() as session:
        mine = select(Entitlement).join(Child).where(Child.issuer_id == office["issuer_id"])
        entitlements = session.scalars(mine).all()
        assert len(entitlements) == 400
        assert {e.status for e in entitlements} == {EntitlementStatus.APPROVED}
    again = _post(approver, f"/imports/{batch_id}/confirm")
    assert again.status_code == 303 and _batch(committed, batch_id).status == "confirmed"
    issue_import_cards(committed, lambda: NOW, kek=lambda: KEK)
    page = caseworker.get(path, base_url=HTTPS).get_data(as_text=True)
    assert "Für die Kinder dieses Imports wurden 400 neue Karten ausgestellt" in page
    assert "Briefe 1 bis 100 als ein PDF" in page and "Briefe 101 bis 200 als ein PDF" in page
    letters = _post(caseworker, f"/imports/{batch_id}/letters.pdf", {"part": "1"})
    assert letters.status_code == 200 and letters.mimetype == "application/pdf"
    assert _post(caseworker, f"/imports/{batch_id}/letters.pdf", {"part": "9"}).status_code == 404


def test_refused_lines_and_files_dry_runs_and_rejections(app, committed, office):
    caseworker = _as(app, office["caseworker"])
    formula = f"=HYPERLINK(\"x\");{office['issuer_id']}-H;P-x;Kaya;Ali;01.05.2014;trips;" \
              "01.02.2026;31.12.2026;;"  # fmt: skip
    bad = _upload(caseworker, _file(office["issuer_id"], 2, extra=[formula]))
    batch_id = int(bad.headers["Location"].rsplit("/", 1)[1])
    check_waiting_imports(committed, lambda: NOW)
    page = caseworker.get(f"/imports/{batch_id}?outcome=refused", base_url=HTTPS)
    text = page.get_data(as_text=True)
    assert _batch(committed, batch_id).status == "refused"
    assert "Reisen brauchen den bewilligten Betrag." in text or "trips need" in text.lower()
    assert "1 Zeilen; dies sind 1 davon." in text
    report = caseworker.get(f"/imports/{batch_id}/report.csv", base_url=HTTPS)
    assert "\n4;\"'=HYPERLINK" in report.get_data(as_text=True)  # never a formula
    assert _post(caseworker, f"/imports/{batch_id}/reject").status_code == 303
    assert _batch(committed, batch_id).status == "refused"  # nothing to reject

    latin = _upload(caseworker, (HEADER + "\r\nD;H;P;Müller;Jörg;01.05.2014;lunch;;;;\r\n")
                    .encode("cp1252"))  # fmt: skip
    assert latin.status_code == 303 and latin.headers["Location"].endswith("/imports")
    told = caseworker.get("/imports", base_url=HTTPS).get_data(as_text=True)
    assert "die Datei ist nicht UTF-8" in told  # at once, nothing queued
    twice = _file(office["issuer_id"], 2, extra=[_file(office["issuer_id"], 1).decode()
                                                 .splitlines()[1]])  # fmt: skip
    duplicate = _upload(caseworker, twice, name="doppelt.csv")
    duplicate_id = int(duplicate.headers["Location"].rsplit("/", 1)[1])
    dry = _upload(caseworker, _file(office["issuer_id"], 2), dry_run=True)
    dry_id = int(dry.headers["Location"].rsplit("/", 1)[1])
    check_waiting_imports(committed, lambda: NOW)
    text = caseworker.get(f"/imports/{duplicate_id}", base_url=HTTPS).get_data(as_text=True)
    assert "Die ganze Datei wird abgelehnt: eine decision_ref steht zweimal" in text
    assert _batch(committed, dry_id).status == "checked"

    waiting = _upload(caseworker, _file(office["issuer_id"], 2))
    waiting_id = int(waiting.headers["Location"].rsplit("/", 1)[1])
    twice = _upload(caseworker, _file(office["issuer_id"], 2))  # the same file again
    assert twice.status_code == 303 and twice.headers["Location"].endswith("/imports")
    assert "wartet bereits" in caseworker.get("/imports", base_url=HTTPS).get_data(as_text=True)
    check_waiting_imports(committed, lambda: NOW)
    assert _post(caseworker, f"/imports/{waiting_id}/reject").status_code == 303
    assert _batch(committed, waiting_id).status == "rejected"
    empty = _upload(caseworker, b"", name="")
    assert empty.status_code == 303 and empty.headers["Location"].endswith("/imports")


def test_other_issuers_and_roles_see_and_do_nothing(app, committed, office, staff):
    caseworker = _as(app, office["caseworker"])
    uploaded = _upload(caseworker, _file(office["issuer_id"], 2))
    path = uploaded.headers["Location"]
    check_waiting_imports(committed, lambda: NOW)
    stranger_name, _ = staff(Role.ADMINISTRATOR)
    stranger = _as(app, stranger_name)
    assert stranger.get(path, base_url=HTTPS).status_code == 404
    assert stranger.get(f"{path}/report.csv", base_url=HTTPS).status_code == 404
    assert stranger.get(f"{path}/progress", base_url=HTTPS).status_code == 404
    assert _post(stranger, f"{path}/confirm").status_code == 404
    assert "bewilligungen.csv" not in stranger.get("/imports", base_url=HTTPS).get_data(
        as_text=True
    )
    approver = _as(app, office["approver"])
    assert _upload(approver, _file(office["issuer_id"], 1)).status_code == 403
    assert caseworker.get("/imports?before=x", base_url=HTTPS).status_code == 422
    assert caseworker.get(f"{path}?outcome=nope", base_url=HTTPS).status_code == 422
    assert _post(caseworker, f"{path}/confirm").status_code == 303  # refused: four eyes/role
    batch_id = int(path.rsplit("/", 1)[1])
    assert _batch(committed, batch_id).status == "recorded"


def test_an_upload_over_the_limit_is_refused_before_it_is_read(app, committed, office):
    from youcard.web.inputs import UPLOADS

    caseworker = _as(app, office["caseworker"])
    app.extensions[UPLOADS]["imports.upload"] = 20_000  # stands for the 64 MB of a city
    too_big = _upload(caseworker, _file(office["issuer_id"], 400))
    assert too_big.status_code == 413
    with committed() as session:
        assert session.scalars(select(ImportBatch).where(
            ImportBatch.file_name == "bewilligungen.csv",
            ImportBatch.issuer_id == office["issuer_id"],
        )).first() is None  # fmt: skip
    form = caseworker.post(  # every other form keeps its 16 KB
        "/households/new", data={"family_name": "x" * 20_000}, base_url=HTTPS,
        headers=SAME_ORIGIN,
    )  # fmt: skip
    assert form.status_code == 413
