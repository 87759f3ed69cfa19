"""The staff API's imports: the case system posts its file (202, checked by the jobs), follows
it, pages through its lines with a cursor, and a second person confirms or rejects it; bad
bodies and other issuers' imports are refused and change nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import NOW, Factory
from tests.issuer.test_api import HTTPS, _call, tokens  # noqa: F401 - the fixture
from youcard.domain.enums import Role
from youcard.domain.models import Child, Entitlement, ImportBatch
from youcard.jobs.imports import check_waiting_imports
from youcard.operations.staff_tokens import create_staff_token
from youcard.policy import Staff

HEADER = (
    "decision_ref;case_ref;child_ref;family_name;given_name;birth_date;category;valid_from;"
    "valid_until;amount_eur"
)


def _file(prefix, lines):
    rows = [HEADER] + [
        f"{prefix}-D-{n};{prefix}-H;{prefix}-P-{n};Kaya;Kind{n};01.05.2014;participation;"
        "01.02.2026;31.12.2026;"
        for n in range(lines)
    ]
    return ("\r\n".join(rows) + "\r\n").encode()


def _post_file(client, token, data, query="", content_type="text/csv"):
    return client.post(
        f"/api/v1/imports{query}", data=data, base_url=HTTPS,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )  # fmt: skip


def test_post_follow_page_and_confirm(client, tokens, committed):  # noqa: F811
    cw, ap = tokens["caseworker"], tokens["approver"]
    prefix = tokens["issuer_id"]
    posted = _post_file(client, cw, _file(prefix, 120), "?file_name=bescheide.csv")
    assert posted.status_code == 202, posted.get_json()
    batch = posted.get_json()
    assert (batch["status"], batch["lines_total"], batch["file_name"]) == (
        "queued", 120, "bescheide.csv"
    )  # fmt: skip
    follow = posted.headers["Location"]
    assert follow == f"/api/v1/imports/{batch['id']}"
    check_waiting_imports(committed, lambda: NOW)
    state = _call(client, "GET", follow, cw).get_json()
    assert state["status"] == "recorded" and state["counts"]["created"] == 120

    seen, cursor = [], None
    while True:
        page = _call(client, "GET", f"{follow}/lines?limit=50" +
                     (f"&cursor={cursor}" if cursor else ""), cw).get_json()  # fmt: skip
        assert page["total"] == 120
        seen += [item["line"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(2, 122))
    listing = _call(client, "GET", "/api/v1/imports?limit=1", ap).get_json()
    assert listing["items"][0]["id"] == batch["id"]

    assert _call(client, "POST", f"{follow}/confirm", cw).status_code == 403  # role
    done = _call(client, "POST", f"{follow}/confirm", ap)
    assert done.status_code == 200 and done.get_json()["status"] == "confirmed"
    with committed() as session:
        mine = select(func.count()).select_from(Entitlement).join(Child)
        assert session.scalar(mine.where(Child.issuer_id == prefix)) == 120
    again = _call(client, "POST", f"{follow}/reject", ap)
    assert again.status_code == 409 and again.get_json()["code"] == "already_decided"


def test_bad_files_and_requests_are_refused_and_change_nothing(client, tokens, committed):  # noqa: F811
    cw, ad = tokens["caseworker"], tokens["administrator"]

    def batches():
        with committed() as session:
            return session.scalar(
                select(func.count()).select_from(ImportBatch)
                .where(ImportBatch.issuer_id == tokens["issuer_id"])
            )  # fmt: skip

    before = batches()
    cases = [
        (b"", "", "text/csv", 422, "file_empty"),
        (HEADER.encode() + b"\r\n", "", "text/csv", 202, None),  # header only: refused by the job
        ("ä".encode("cp1252") + b";x\r\n", "", "text/csv", 422, "not_utf8"),
        (b"a;b\x00\r\n", "", "text/csv", 422, "file_not_text"),
        (b"x;y\r\n1;2\r\n", "", "text/csv", 422, "bad_header"),
        (_file("Z", 1), "", "application/json", 422, "not_csv"),
        (_file("Z", 1), "?dry_run=maybe", "text/csv", 422, None),
        (_file("Z", 1), "?nope=1", "text/csv", 422, None),
        (_file("Z", 1), "?file_name=" + "x" * 201, "text/csv", 422, None),
    ]
    made = 0
    for data, query, kind, status, code in cases:
        r = _post_file(client, cw, data, query, kind)
        assert r.status_code == status, (data[:20], r.get_json())
        if code:
            assert r.get_json()["code"] == code
        made += status == 202
    assert batches() == before + made
    assert _post_file(client, tokens["approver"], _file("Z", 1)).status_code == 403
    waiting = _post_file(client, cw, _file("W", 2)).get_json()
    twice = _post_file(client, ad, _file("W", 2))
    assert twice.status_code == 409 and twice.get_json()["code"] == "import_waiting"
    for bad in ("?cursor=!!", "?cursor=MA", "?limit=0", "?limit=x"):
        assert _call(client, "GET", f"/api/v1/imports{bad}", cw).status_code == 422
    lines = f"/api/v1/imports/{waiting['id']}/lines"
    assert _call(client, "GET", f"{lines}?outcome=nope", cw).status_code == 422
    assert _call(client, "GET", "/api/v1/imports/999999999", cw).status_code == 404


def test_other_issuers_imports_are_not_found(client, tokens, committed):  # noqa: F811
    posted = _post_file(client, tokens["caseworker"], _file("O", 1)).get_json()
    with committed.begin() as session:
        make = Factory(session)
        stranger = make.issuer()
        user = make.staff(stranger, Role.ADMINISTRATOR)
        other = create_staff_token(
            session, by=Staff.system(stranger.id, "t"), username=user.username, name="t", now=NOW
        ).token
    for method, path in [
        ("GET", f"/api/v1/imports/{posted['id']}"),
        ("GET", f"/api/v1/imports/{posted['id']}/lines"),
        ("POST", f"/api/v1/imports/{posted['id']}/reject"),
    ]:
        r = _call(client, method, path, other)
        assert r.status_code == 404 and r.get_json()["code"] == "import_not_found"
    listing = _call(client, "GET", "/api/v1/imports", other).get_json()
    assert posted["id"] not in [item["id"] for item in listing["items"]]
