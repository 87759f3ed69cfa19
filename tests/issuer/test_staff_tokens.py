"""A password reset, a one-time password and a deactivation stop every API token of that
person; staff see and end their own tokens on their account page (issue 27)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from tests.factories import NOW, Factory
from tests.issuer.test_households import _as
from tests.issuer.test_staff_login import HTTPS, SAME_ORIGIN, _csrf
from youcard.domain.enums import Role
from youcard.domain.models import AuditEvent, StaffToken
from youcard.operations.staff_accounts import create_staff_user
from youcard.operations.staff_tokens import create_staff_token
from youcard.policy import Staff


def _token(session, issuer_id, username, name="Fachverfahren"):
    return create_staff_token(
        session, by=Staff.system(issuer_id, "test"), username=username, name=name, now=NOW
    )


def _api(client, token, method="GET", path="/api/v1/households", json=None):
    return client.open(
        path, method=method, json=json, base_url=HTTPS,
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip


def test_a_reset_ends_every_token_of_that_person(app, committed):
    with committed.begin() as session:
        make = Factory(session)
        office = make.issuer()
        admin = make.staff(office, Role.ADMINISTRATOR)
        worker = make.staff(office, Role.CASEWORKER)
        admin_token = _token(session, office.id, admin.username).token
        worker_tokens = [_token(session, office.id, worker.username, f"T{i}").token for i in (1, 2)]
        worker_id = worker.id
    client = app.test_client()
    new = {"reference": "R-1", "family_name": "Nowak"}
    assert _api(client, worker_tokens[0], "POST", "/api/v1/households", new).status_code == 201
    reset = _api(client, admin_token, "POST", f"/api/v1/staff/{worker_id}/reset-password")
    assert reset.status_code == 200
    for token in worker_tokens:
        after = _api(client, token, "POST", "/api/v1/households", {**new, "reference": "R-2"})
        assert after.status_code == 401
    with committed() as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "staff.reset_password", AuditEvent.object_id == str(worker_id)
            )
        ).one()
        assert json.loads(event.data)["tokens_revoked"] == 2


def test_a_token_of_someone_with_a_one_time_password_does_not_act(app, committed):
    with committed.begin() as session:
        make = Factory(session)
        office = make.issuer()
        made = create_staff_user(
            session, by=Staff.system(office.id, "test"), username="neu.approver",
            display_name="Neu Approver", role=Role.APPROVER, now=NOW,
        )  # fmt: skip
        token = _token(session, office.id, made.user.username).token
    answer = _api(app.test_client(), token)
    assert answer.status_code == 401 and "one-time password" in answer.json["detail"]


def test_staff_see_and_end_their_own_tokens_on_their_account_page(app, committed):
    with committed.begin() as session:
        make = Factory(session)
        office = make.issuer()
        worker = make.staff(office, Role.CASEWORKER)
        colleague = make.staff(office, Role.CASEWORKER)
        mine = _token(session, office.id, worker.username, "Fachverfahren Prosoz")
        theirs = _token(session, office.id, colleague.username, "Fremd")
        username, mine_id, theirs_id = worker.username, mine.row.id, theirs.row.id
    client = _as(app, username)
    page = client.get("/account", base_url=HTTPS).get_data(as_text=True)
    assert "Fachverfahren Prosoz" in page and "Fremd" not in page
    assert "nie" in page  # never used yet

    def end(token_id):
        return client.post(
            f"/account/tokens/{token_id}/revoke",
            data={"csrf_token": _csrf(client, "/account")},
            base_url=HTTPS,
            headers=SAME_ORIGIN,
        )

    no_csrf = client.post(f"/account/tokens/{mine_id}/revoke", base_url=HTTPS, headers=SAME_ORIGIN)
    assert no_csrf.status_code in (303, 400)
    assert _api(app.test_client(), mine.token).status_code == 200  # still works
    assert end(theirs_id).status_code == 303  # another's token: not found, nothing ends
    assert _api(app.test_client(), theirs.token).status_code == 200
    assert end(mine_id).status_code == 303
    assert _api(app.test_client(), mine.token).status_code == 401
    page = client.get("/account", base_url=HTTPS).get_data(as_text=True)
    assert "Der Token Fachverfahren Prosoz funktioniert nicht mehr." in page
    assert "<td>Fachverfahren Prosoz</td>" not in page and re.search("keine API-Tokens", page)
    with committed() as session:
        row = session.get(StaffToken, theirs_id)
        assert row is not None and row.revoked_at is None
