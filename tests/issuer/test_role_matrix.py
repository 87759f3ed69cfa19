"""Every page and API route of the issuer and every role: allowed or refused (403).

The table must name every route the app has: a new route without a row fails here.
"""

from __future__ import annotations

import pytest

from tests.factories import Factory
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS
from youcard.domain.enums import Role
from youcard.operations.staff_tokens import create_staff_token
from youcard.policy import Staff

ALL = set(Role)
RECORD = {Role.CASEWORKER, Role.ADMINISTRATOR}
DECIDE = {Role.APPROVER, Role.ADMINISTRATOR}
ADMIN = {Role.ADMINISTRATOR}
PUBLIC = None  # no sign-in needed

# (method, rule) -> roles allowed
MATRIX = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/.well-known/youcard/trust-list.json"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # its own token (YOUCARD_METRICS_TOKEN), else 404
    ("GET", "/"): ALL,
    # the family area: no staff sign-in; families sign in with their code (test_family.py)
    ("GET", "/family/login"): PUBLIC,
    ("GET", "/family/manifest.webmanifest"): PUBLIC,
    ("GET", "/family/sw.js"): PUBLIC,
    ("POST", "/family/login"): PUBLIC,
    ("POST", "/family/logout"): PUBLIC,
    ("GET", "/family"): PUBLIC,
    ("GET", "/family/children/<int:child_id>/card.pdf"): PUBLIC,
    ("GET", "/family/children/<int:child_id>/lost"): PUBLIC,
    ("GET", "/family/data.<any(json, pdf):kind>"): PUBLIC,
    ("POST", "/family/children/<int:child_id>/lost"): PUBLIC,
    ("GET", "/family/mandates/<int:mandate_id>/end"): PUBLIC,
    ("POST", "/family/mandates/<int:mandate_id>/end"): PUBLIC,
    ("POST", "/family/reminders"): PUBLIC,
    ("POST", "/family/messages"): PUBLIC,
    # partners apply without an account; families find them in the directory
    ("GET", "/partners/apply"): PUBLIC,
    ("POST", "/partners/apply"): PUBLIC,
    ("GET", "/directory"): PUBLIC,
    ("GET", "/admin/applications"): ADMIN,
    ("GET", "/admin/applications/<int:application_id>"): ADMIN,
    ("POST", "/admin/applications/<int:application_id>/<any(approve, refuse):decision>"): ADMIN,
    ("GET", "/admin/terms"): ADMIN,
    ("POST", "/admin/terms"): ADMIN,
    ("POST", "/households/<int:household_id>/access-code"): RECORD,
    ("GET", "/households/<int:household_id>/access-code"): RECORD,
    ("GET", "/households"): ALL,
    ("GET", "/households/new"): RECORD,
    ("POST", "/households/new"): RECORD,
    ("GET", "/households/<int:household_id>"): ALL,
    ("GET", "/households/<int:household_id>/data.<any(json, pdf):kind>"): ALL,
    ("GET", "/households/<int:household_id>/edit"): RECORD,
    ("POST", "/households/<int:household_id>/edit"): RECORD,
    ("POST", "/households/<int:household_id>/children"): RECORD,
    ("GET", "/children/<int:child_id>/edit"): RECORD,
    ("POST", "/children/<int:child_id>/edit"): RECORD,
    ("POST", "/children/<int:child_id>/entitlements"): RECORD,
    ("GET", "/approvals"): DECIDE,
    ("POST", "/approvals"): DECIDE,
    ("POST", "/entitlements/<int:entitlement_id>/<any(approve, reject, revoke):action>"): DECIDE,
    ("POST", "/children/<int:child_id>/card"): DECIDE,
    ("POST", "/cards/<int:card_id>/<any(revoke, replace):action>"): DECIDE,
    ("GET", "/cards/<int:card_id>.<any(png, svg, pdf):kind>"): ALL,
    ("GET", "/cards/print"): DECIDE,
    ("POST", "/cards/print.pdf"): DECIDE,
    ("GET", "/admin/partners"): ADMIN,
    ("GET", "/admin/partners/new"): ADMIN,
    ("POST", "/admin/partners/new"): ADMIN,
    ("GET", "/admin/partners/<int:partner_id>"): ADMIN,
    ("POST", "/admin/partners/<int:partner_id>/<any(active, suspended):status>"): ADMIN,
    ("POST", "/admin/partners/<int:partner_id>/tokens"): ADMIN,
    ("POST", "/admin/devices/<int:device_id>/revoke"): ADMIN,
    ("POST", "/admin/partners/<int:partner_id>/users"): ADMIN,
    ("GET", "/admin/partners/<int:partner_id>/permissions"): ADMIN,
    ("POST", "/admin/partners/<int:partner_id>/permissions"): ADMIN,
    ("GET", "/admin/audit"): ADMIN,
    ("GET", "/messages"): ALL,
    ("POST", "/messages/<int:message_id>/resend"): RECORD,
    ("GET", "/admin/access-log"): ADMIN,
    ("GET", "/admin/settlements"): ADMIN,
    ("POST", "/admin/settlements"): ADMIN,
    ("GET", "/admin/settlements/<int:settlement_id>"): ADMIN,
    ("POST", "/admin/settlements/<int:settlement_id>/recompute"): ADMIN,
    ("POST", "/admin/settlements/<int:settlement_id>/finalize"): ADMIN,
    (
        "GET",
        "/admin/settlements/<int:settlement_id>/<any(lines, payments, bookings):kind>.csv",
    ): ADMIN,
    ("GET", "/admin/settlements/<int:settlement_id>/sepa.xml"): ADMIN,
    ("POST", "/admin/settlements/account"): ADMIN,
    ("GET", "/admin/offline"): DECIDE,
    ("POST", "/admin/offline/limits"): ADMIN,
    ("GET", "/admin/offline/<month_text>.csv"): DECIDE,
    ("GET", "/admin/reports"): DECIDE,
    ("GET", "/admin/reports/<int:year>/<any(categories, partners, takeup):kind>.csv"): DECIDE,
    ("GET", "/admin/keys"): ADMIN,
    ("POST", "/households/<int:household_id>/letter.pdf"): RECORD,
    ("GET", "/letters"): RECORD,
    ("GET", "/children/<int:child_id>"): ALL,
    ("POST", "/cards/<int:card_id>/reissue"): ALL,
    ("POST", "/children/<int:child_id>/mandates/<int:mandate_id>/end"): ALL,
    ("POST", "/letters/today.pdf"): RECORD,
    ("GET", "/admin/office"): ADMIN,
    (
        "POST",
        "/admin/partners/<int:partner_id>/<any(name, contact, iban, confirm, discard):change>",
    ): ADMIN,
    ("POST", "/admin/partner-users/<int:user_id>/<any(deactivate, activate, reset):change>"): ADMIN,
    ("POST", "/admin/office"): ADMIN,
    ("GET", "/admin/staff"): ADMIN,
    ("POST", "/admin/staff"): ADMIN,
    ("GET", "/admin/staff/<int:user_id>"): ADMIN,
    ("POST", "/admin/staff/<int:user_id>/role"): ADMIN,
    ("POST", "/admin/staff/<int:user_id>/<any(deactivate, activate):change>"): ADMIN,
    ("POST", "/admin/staff/<int:user_id>/unlock"): ADMIN,
    ("POST", "/admin/staff/<int:user_id>/reset"): ADMIN,
    ("GET", "/account"): ALL,
    ("POST", "/account/tokens/<int:token_id>/revoke"): ALL,
    ("GET", "/account/password"): ALL,
    ("POST", "/account/password"): ALL,
    ("POST", "/admin/keys/rotate"): ADMIN,
    ("GET", "/imports"): ALL,
    ("POST", "/imports"): RECORD,
    ("GET", "/imports/<int:batch_id>"): ALL,
    ("GET", "/imports/<int:batch_id>/progress"): ALL,
    ("GET", "/imports/<int:batch_id>/report.csv"): ALL,
    ("POST", "/imports/<int:batch_id>/letters.pdf"): RECORD,
    # confirming needs an approver, rejecting any of the three: the operation decides
    ("POST", "/imports/<int:batch_id>/<any(confirm, reject):decision>"): ALL,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/households"): ALL,
    ("POST", "/api/v1/households"): RECORD,
    ("GET", "/api/v1/households/<int:household_id>"): ALL,
    ("POST", "/api/v1/households/<int:household_id>/children"): RECORD,
    ("POST", "/api/v1/children/<int:child_id>/entitlements"): RECORD,
    (
        "POST",
        "/api/v1/entitlements/<int:entitlement_id>/<any(approve, reject, revoke):action>",
    ): DECIDE,
    ("POST", "/api/v1/children/<int:child_id>/cards"): DECIDE,
    ("POST", "/api/v1/cards/<int:card_id>/<any(revoke, replace):action>"): DECIDE,
    ("GET", "/api/v1/partners"): ADMIN,
    ("POST", "/api/v1/partners"): ADMIN,
    ("POST", "/api/v1/partners/<int:partner_id>/<any(active, suspended):status>"): ADMIN,
    ("POST", "/api/v1/partners/<int:partner_id>/permissions"): ADMIN,
    ("POST", "/api/v1/partners/<int:partner_id>/tokens"): ADMIN,
    ("POST", "/api/v1/devices/<int:device_id>/revoke"): ADMIN,
    ("GET", "/api/v1/keys"): ADMIN,
    ("POST", "/api/v1/keys/rotate"): ADMIN,
    ("GET", "/api/v1/audit"): ADMIN,
    ("GET", "/api/v1/staff"): ADMIN,
    ("POST", "/api/v1/staff"): ADMIN,
    ("POST", "/api/v1/staff/<int:user_id>/role"): ADMIN,
    ("POST", "/api/v1/staff/<int:user_id>/<any(deactivate, activate):change>"): ADMIN,
    ("POST", "/api/v1/staff/<int:user_id>/unlock"): ADMIN,
    ("POST", "/api/v1/staff/<int:user_id>/reset-password"): ADMIN,
    ("GET", "/api/v1/imports"): ALL,
    ("POST", "/api/v1/imports"): RECORD,
    ("GET", "/api/v1/imports/<int:batch_id>"): ALL,
    ("GET", "/api/v1/imports/<int:batch_id>/lines"): ALL,
    ("POST", "/api/v1/imports/<int:batch_id>/confirm"): DECIDE,
    ("POST", "/api/v1/imports/<int:batch_id>/reject"): ALL,
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule


def test_the_matrix_names_every_route(app):
    assert set(_routes(app)) == set(MATRIX)


def _concrete(rule: str) -> str:
    """A path for a rule: ids that exist nowhere, the first choice of every `any(...)`."""
    import re

    path = re.sub(r"<int:\w+>", "999999999", rule)
    return re.sub(r"<any\((\w+)[^>]*>", r"\1", path)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_allowed_or_refused_on_each_route(app, committed, role):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        user = make.staff(issuer, role)
        token = create_staff_token(
            session,
            by=Staff.system(issuer.id, "t"),
            username=user.username,
            name="t",
            now=user.created_at,
        ).token
    client = _as(app, user.username)
    wrong = []
    for (method, rule), allowed in MATRIX.items():
        if allowed is PUBLIC or rule in ("/logout",):
            continue
        path = _concrete(rule)
        if path.startswith("/api/"):
            r = client.open(
                path,
                method=method,
                json={},
                base_url=HTTPS,
                headers={"Authorization": f"Bearer {token}"},
            )
        elif method == "POST":
            r = _post(client, path)
        else:
            r = client.get(path, base_url=HTTPS)
        if (r.status_code == 403) == (role in allowed):
            wrong.append((method, rule, r.status_code))
    assert wrong == []
