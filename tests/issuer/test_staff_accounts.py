"""Staff accounts on the pages and the staff API: an administrator creates a colleague with
a one-time password, which must be changed before anything else; roles, deactivation (the
sessions end at once), resets; the last administrator stays; bad input changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS, SAME_ORIGIN, _csrf, _login
from youcard.domain.enums import Role
from youcard.domain.models import AuditEvent, Household, Issuer, StaffUser
from youcard.operations.staff_tokens import create_staff_token
from youcard.policy import Staff

NEW_PASSWORD = "Pferd Batterie Heftklammer"


@pytest.fixture
def office(committed):
    """An issuer with one administrator (and a stranger: another issuer's caseworker)."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        admin = make.staff(issuer, Role.ADMINISTRATOR)
        stranger = make.staff(make.issuer(), Role.CASEWORKER)
        token = create_staff_token(
            session, by=Staff.of(admin), username=admin.username, name="Fach", now=admin.created_at
        ).token
        return {
            "issuer_id": issuer.id,
            "admin": admin.username,
            "admin_id": admin.id,
            "stranger_id": stranger.id,
            "token": token,
        }


def _secret(html: str) -> str:
    return re.search(r'<code class="secret">([^<]+)</code>', html).group(1)


def _user(committed, username):
    with committed() as session:
        return session.scalars(select(StaffUser).where(StaffUser.username == username)).one()


def _change_password(client, current, new, repeat=None):
    return client.post(
        "/account/password",
        data={
            "csrf_token": _csrf(client, "/account/password"),
            "current": current,
            "new": new,
            "repeat": new if repeat is None else repeat,
        },
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )


def test_a_new_colleague_signs_in_once_with_the_one_time_password_and_must_change_it(
    app, office, committed
):
    admin = _as(app, office["admin"])
    r = _post(
        admin,
        "/admin/staff",
        {"username": "Cem.Kaya", "display_name": "Cem Kaya", "role": "caseworker"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    secret = _secret(r.get_data(as_text=True))
    assert "Cem Kaya" in admin.get("/admin/staff", base_url=HTTPS).get_data(as_text=True)
    assert secret not in admin.get("/admin/staff", base_url=HTTPS).get_data(as_text=True)

    cem = app.test_client()
    r = _login(cem, "cem.kaya", secret)
    assert r.status_code == 302
    for path in ("/", "/households", "/households/new"):  # every page leads to the form
        r = cem.get(path, base_url=HTTPS)
        assert r.status_code == 302 and r.headers["Location"].endswith("/account/password"), path
    r = cem.post(
        "/households/new",
        data={
            "csrf_token": _csrf(cem, "/account/password"),
            "reference": "X-1",
            "family_name": "X",
        },
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/password")
    with committed() as session:
        mine = select(Household).where(Household.issuer_id == office["issuer_id"])
        assert session.scalars(mine).all() == []
    page = cem.get("/account/password", base_url=HTTPS).get_data(as_text=True)
    assert "Einmalpasswort" in page

    r = _change_password(cem, secret, "password1234")
    assert r.status_code == 422 and "häufigsten" in r.get_data(as_text=True)
    r = _change_password(cem, secret, NEW_PASSWORD, "Pferd Batterie")
    assert r.status_code == 422
    assert _user(committed, "cem.kaya").must_change_password
    r = _change_password(cem, secret, NEW_PASSWORD)
    assert r.status_code == 303
    assert cem.get("/", base_url=HTTPS).status_code == 200  # this session goes on
    assert cem.get("/households", base_url=HTTPS).status_code == 200
    assert not _user(committed, "cem.kaya").must_change_password
    assert _login(app.test_client(), "cem.kaya", secret).status_code == 401
    assert _login(app.test_client(), "cem.kaya", NEW_PASSWORD).status_code == 302
    with committed() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.issuer_id == office["issuer_id"], AuditEvent.action.like("staff.%")
            )
        ).all()
    assert {"staff.create", "staff.password_changed"} <= set(actions)


def test_a_new_password_ends_the_other_sessions(app, office):
    desk, laptop = _as(app, office["admin"]), _as(app, office["admin"])
    from tests.factories import PASSWORD

    assert _change_password(desk, PASSWORD, NEW_PASSWORD).status_code == 303
    assert desk.get("/", base_url=HTTPS).status_code == 200
    r = laptop.get("/", base_url=HTTPS)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_deactivating_ends_the_colleagues_session_at_once_and_reset_hands_over_a_new_one(
    app, office, committed
):
    admin = _as(app, office["admin"])
    with committed.begin() as session:
        make = Factory(session)
        colleague = make.staff(session.get(Issuer, office["issuer_id"]), Role.APPROVER)
        name, colleague_id = colleague.username, colleague.id
    them = _as(app, name)
    assert them.get("/approvals", base_url=HTTPS).status_code == 200
    r = _post(admin, f"/admin/staff/{colleague_id}/deactivate")
    assert r.status_code == 303
    r = them.get("/approvals", base_url=HTTPS)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    page = admin.get(f"/admin/staff/{colleague_id}", base_url=HTTPS).get_data(as_text=True)
    assert "deaktiviert" in page

    assert _post(admin, f"/admin/staff/{colleague_id}/activate").status_code == 303
    r = _post(admin, f"/admin/staff/{colleague_id}/reset")
    assert r.status_code == 200
    secret = _secret(r.get_data(as_text=True))
    again = app.test_client()
    assert _login(again, name, secret).status_code == 302
    assert again.get("/approvals", base_url=HTTPS).headers["Location"].endswith("/account/password")

    r = _post(admin, f"/admin/staff/{colleague_id}/role", {"role": "administrator"})
    assert r.status_code == 303 and _user(committed, name).role is Role.ADMINISTRATOR


def test_the_last_administrator_cannot_deactivate_or_demote_themselves(app, office, committed):
    admin = _as(app, office["admin"])
    r = _post(admin, f"/admin/staff/{office['admin_id']}/deactivate")
    assert r.status_code == 303
    page = admin.get(r.headers["Location"], base_url=HTTPS).get_data(as_text=True)
    assert "letzte aktive Administrator" in page
    r = _post(admin, f"/admin/staff/{office['admin_id']}/role", {"role": "caseworker"})
    user = _user(committed, office["admin"])
    assert user.active and user.role is Role.ADMINISTRATOR
    assert admin.get("/admin/staff", base_url=HTTPS).status_code == 200


def test_another_issuers_staff_are_not_found_and_bad_input_changes_nothing(app, office, committed):
    admin = _as(app, office["admin"])
    stranger = office["stranger_id"]
    assert admin.get(f"/admin/staff/{stranger}", base_url=HTTPS).status_code == 404
    for action in ("deactivate", "unlock", "reset"):
        assert _post(admin, f"/admin/staff/{stranger}/{action}").status_code == 404, action
    with committed() as session:
        before = session.scalars(select(StaffUser.id)).all()
    for data in (
        {"username": "x y", "display_name": "X", "role": "caseworker"},
        {"username": "neu", "display_name": "X", "role": "king"},
        {"username": "neu", "display_name": "", "role": "caseworker"},
        {"username": office["admin"].upper(), "display_name": "X", "role": "caseworker"},
    ):
        assert _post(admin, "/admin/staff", data).status_code == 422, data
    with committed() as session:
        assert session.scalars(select(StaffUser.id)).all() == before


def _api(client, method, path, token, json=None):
    return client.open(
        path,
        method=method,
        json=json,
        base_url=HTTPS,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_the_staff_api_manages_accounts_and_shows_a_one_time_password_only_once(
    app, office, committed
):
    client, token = app.test_client(), office["token"]
    r = _api(client, "POST", "/api/v1/staff", token,
             {"username": "dana", "display_name": "Dana", "role": "approver"})  # fmt: skip
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert made["must_change_password"] and len(made["one_time_password"]) == 19
    assert _login(app.test_client(), "dana", made["one_time_password"]).status_code == 302
    listed = _api(client, "GET", "/api/v1/staff", token).get_json()
    assert {u["username"] for u in listed} == {office["admin"], "dana"}
    assert all("one_time_password" not in u and "password_hash" not in u for u in listed)
    r = _api(client, "POST", f"/api/v1/staff/{made['id']}/role", token, {"role": "caseworker"})
    assert r.status_code == 200 and r.get_json()["role"] == "caseworker"
    r = _api(client, "POST", f"/api/v1/staff/{made['id']}/reset-password", token)
    assert r.status_code == 200
    assert r.get_json()["one_time_password"] != made["one_time_password"]
    r = _api(client, "POST", f"/api/v1/staff/{made['id']}/deactivate", token)
    assert r.status_code == 200 and r.get_json()["active"] is False
    r = _api(client, "POST", f"/api/v1/staff/{office['admin_id']}/deactivate", token)
    assert r.status_code == 409 and r.get_json()["code"] == "last_administrator"

    with committed() as session:
        before = session.scalars(select(StaffUser.id)).all()
    for body, status in (
        ({"username": "dana", "display_name": "D", "role": "approver"}, 409),
        ({"username": "eve", "display_name": "E", "role": "root"}, 422),
        ({"username": "eve", "display_name": "E", "role": "approver", "password": "x"}, 422),
        ({"username": "eve\u0000", "display_name": "E", "role": "approver"}, 400),
        ({"username": ["eve"], "display_name": "E", "role": "approver"}, 422),
    ):
        r = _api(client, "POST", "/api/v1/staff", token, body)
        assert r.status_code == status, (body, r.get_json())
    assert _api(client, "POST", f"/api/v1/staff/{office['stranger_id']}/reset-password",
                token).status_code == 404  # fmt: skip
    with committed() as session:
        assert session.scalars(select(StaffUser.id)).all() == before
