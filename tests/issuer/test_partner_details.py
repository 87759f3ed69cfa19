"""A partner's name and bank details (four eyes on a new IBAN) and its staff's scanner
logins (deactivate ends their sessions at once, a new password works and the old one not)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

import redeemer
from tests.factories import NOW, PASSWORD, Factory
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS
from youcard.domain.enums import Role
from youcard.domain.models import AuditEvent, Partner

NEW_IBAN = "DE02120300000000202051"


@pytest.fixture
def partners(committed):
    """An issuer with two administrators and a partner with a scanner login."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        partner = make.partner(issuer)
        login = make.partner_user(partner)
        return {
            "first": make.staff(issuer, Role.ADMINISTRATOR).username,
            "second": make.staff(issuer, Role.ADMINISTRATOR).username,
            "partner_id": partner.id,
            "iban": partner.iban,
            "login": login.username,
            "login_id": login.id,
        }


def _partner(committed, partner_id):
    with committed() as session:
        return session.get(Partner, partner_id)


def test_a_new_iban_is_paid_only_once_a_second_administrator_confirms_it(app, partners, committed):
    first, second = _as(app, partners["first"]), _as(app, partners["second"])
    pid = partners["partner_id"]
    assert _post(first, f"/admin/partners/{pid}/iban", {"value": "DE00 1234"}).status_code == 303
    assert _partner(committed, pid).pending_iban is None  # not a valid IBAN: nothing waits
    assert _post(first, f"/admin/partners/{pid}/iban", {"value": NEW_IBAN}).status_code == 303
    partner = _partner(committed, pid)
    assert (partner.iban, partner.pending_iban) == (partners["iban"], NEW_IBAN)
    page = first.get(f"/admin/partners/{pid}", base_url=HTTPS).get_data(as_text=True)
    assert "wartet auf eine zweite Person" in page and "Neue IBAN bestätigen" not in page
    _post(first, f"/admin/partners/{pid}/confirm")  # the same person: refused
    assert _partner(committed, pid).iban == partners["iban"]
    page = second.get(f"/admin/partners/{pid}", base_url=HTTPS).get_data(as_text=True)
    assert "Neue IBAN bestätigen" in page
    assert _post(second, f"/admin/partners/{pid}/confirm").status_code == 303
    partner = _partner(committed, pid)
    assert (partner.iban, partner.pending_iban) == (NEW_IBAN, None)
    assert (
        _post(second, f"/admin/partners/{pid}/name", {"value": "TuS Hamm 1860"}).status_code == 303
    )
    assert _partner(committed, pid).name == "TuS Hamm 1860"
    with committed() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "partner", AuditEvent.object_id == str(pid))
            .order_by(AuditEvent.id)
        ).all()
    assert actions[-3:] == ["partner.iban_requested", "partner.iban_confirmed", "partner.rename"]


def test_a_partners_login_is_deactivated_at_once_and_gets_a_new_password(
    app, partners, committed, database_url
):
    scanner = redeemer.create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "CLOCK": lambda: NOW,
         "RATELIMIT_ENABLED": False}
    )  # fmt: skip
    from tests.redeemer.test_scanner import _login

    counter = scanner.test_client()
    assert _login(counter, partners["login"]).status_code == 302
    assert counter.get("/scan", base_url=HTTPS).status_code == 200
    admin = _as(app, partners["first"])
    uid = partners["login_id"]
    assert _post(admin, f"/admin/partner-users/{uid}/deactivate").status_code == 303
    r = counter.get("/scan", base_url=HTTPS)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert _post(admin, f"/admin/partner-users/{uid}/activate").status_code == 303
    r = _post(admin, f"/admin/partner-users/{uid}/reset")
    secret = re.search(r'<code class="secret">([^<]+)</code>', r.get_data(as_text=True)).group(1)
    assert _login(scanner.test_client(), partners["login"], PASSWORD).status_code == 401
    assert _login(scanner.test_client(), partners["login"], secret).status_code == 302


def test_another_issuers_administrator_cannot_touch_the_partner(app, partners, committed):
    with committed.begin() as session:
        stranger = Factory(session).staff(Factory(session).issuer(), Role.ADMINISTRATOR).username
    client = _as(app, stranger)
    pid = partners["partner_id"]
    assert _post(client, f"/admin/partners/{pid}/iban", {"value": NEW_IBAN}).status_code == 404
    assert _post(client, f"/admin/partners/{pid}/name", {"value": "X"}).status_code == 404
    uid = partners["login_id"]
    assert _post(client, f"/admin/partner-users/{uid}/deactivate").status_code == 404
    assert _post(client, f"/admin/partner-users/{uid}/reset").status_code == 404
    partner = _partner(committed, pid)
    assert partner.pending_iban is None and partner.name != "X"
