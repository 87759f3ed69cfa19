"""Administration pages: partners with IBAN, tokens shown once, the audit log, key rotation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import NOW, Factory, at_counter
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS
from youcard.domain.enums import KeyStatus, PartnerStatus, Role
from youcard.domain.models import DeviceToken, Partner, PartnerUser, SigningKey
from youcard.operations.partners import ask_to_serve
from youcard.security import token_hash


@pytest.fixture
def admin_office(committed):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        return {
            "issuer_id": issuer.id,
            "admin": make.staff(issuer, Role.ADMINISTRATOR).username,
            "approver": make.staff(issuer, Role.APPROVER).username,
        }


def _partner_id(committed, issuer_id, name):
    with committed() as session:
        return session.scalar(
            select(Partner.id).where(Partner.issuer_id == issuer_id, Partner.name == name)
        )


def test_register_approve_and_equip_a_partner(app, admin_office, committed):
    admin = _as(app, admin_office["admin"])
    bad = _post(
        admin,
        "/admin/partners/new",
        {"name": "TuS", "iban": "DE89370400440532013001", "categories": ["participation"]},
    )
    assert bad.status_code == 422 and "IBAN ist nicht gültig" in bad.get_data(as_text=True)
    assert _partner_id(committed, admin_office["issuer_id"], "TuS") is None
    ok = _post(
        admin,
        "/admin/partners/new",
        {
            "name": "TuS",
            "iban": "de89 3704 0044 0532 0130 00",
            "categories": ["participation", "trips"],
        },
    )
    assert ok.status_code == 302
    partner_id = _partner_id(committed, admin_office["issuer_id"], "TuS")
    with committed() as session:
        partner = session.get(Partner, partner_id)
        assert partner.iban == "DE89370400440532013000" and partner.status is PartnerStatus.PENDING
        assert {p.category.value for p in partner.permissions} == {"participation", "trips"}

    assert _post(admin, f"/admin/partners/{partner_id}/active").status_code == 303
    page = _post(admin, f"/admin/partners/{partner_id}/tokens", {"name": "Kasse 1"})
    token = re.search(r"<code>(ycd_[^<]+)</code>", page.get_data(as_text=True)).group(1)
    with committed() as session:
        device = session.scalars(
            select(DeviceToken).where(DeviceToken.partner_id == partner_id)
        ).one()
        assert device.token_hash == token_hash(token)
        assert session.get(Partner, partner_id).status is PartnerStatus.ACTIVE
    again = admin.get(f"/admin/partners/{partner_id}", base_url=HTTPS).get_data(as_text=True)
    assert token not in again  # shown once
    assert _post(admin, f"/admin/devices/{device.id}/revoke").status_code == 303
    with committed() as session:
        assert session.get(DeviceToken, device.id).revoked_at is not None

    _post(
        admin,
        f"/admin/partners/{partner_id}/users",
        {"username": "kasse.tus", "display_name": "Kasse TuS", "password": "lang genug und geheim"},
    )
    _post(
        admin,
        f"/admin/partners/{partner_id}/users",
        {"username": "zu.kurz", "display_name": "K", "password": "kurz"},
    )
    with committed() as session:
        users = session.scalars(
            select(PartnerUser).where(PartnerUser.partner_id == partner_id)
        ).all()
        assert [u.username for u in users] == ["kasse.tus"]
        assert users[0].password_hash.startswith("$argon2id$")


def test_audit_log_shows_and_filters_this_issuers_events(app, admin_office):
    admin = _as(app, admin_office["admin"])
    _post(
        admin,
        "/admin/partners/new",
        {"name": "Mensa", "iban": "DE89370400440532013000", "categories": ["lunch"]},
    )
    page = admin.get("/admin/audit?object_type=partner", base_url=HTTPS).get_data(as_text=True)
    assert "<code>partner.create</code>" in page and "<code>staff.login</code>" not in page
    assert "Hash-Kette jetzt prüfen" in page and "intakt" not in page  # checked on request only
    checked = admin.get("/admin/audit?verify=1", base_url=HTTPS).get_data(as_text=True)
    assert "Die Hash-Kette ist intakt." in checked
    assert "<code>staff.login</code>" in admin.get(
        "/admin/audit?from=2000-01-01", base_url=HTTPS
    ).get_data(as_text=True)


def test_rotate_keys_from_the_keys_page(app, admin_office, committed):
    admin = _as(app, admin_office["admin"])
    assert _post(admin, "/admin/keys/rotate").status_code == 303
    with committed() as session:
        statuses = session.scalars(
            select(SigningKey.status)
            .where(SigningKey.issuer_id == admin_office["issuer_id"])
            .order_by(SigningKey.id)
        ).all()
    assert statuses == [KeyStatus.RETIRED, KeyStatus.ACTIVE]
    assert "retired" in admin.get("/admin/keys", base_url=HTTPS).get_data(as_text=True)


ADMIN_ONLY = [
    ("GET", "/admin/partners"),
    ("GET", "/admin/partners/new"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/keys"),
    ("POST", "/admin/keys/rotate"),
]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("route", ADMIN_ONLY)
def test_administration_is_for_administrators_only(app, committed, role, route):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        username = make.staff(issuer, role).username
    client = _as(app, username)
    method, path = route
    r = _post(client, path) if method == "POST" else client.get(path, base_url=HTTPS)
    assert (r.status_code != 403) == (role is Role.ADMINISTRATOR), (role, route, r.status_code)


def test_another_issuers_partner_is_not_found(app, admin_office, committed):
    with committed.begin() as session:
        make = Factory(session)
        foreign = make.partner(make.issuer())
        foreign_id = foreign.id
    admin = _as(app, admin_office["admin"])
    assert admin.get(f"/admin/partners/{foreign_id}", base_url=HTTPS).status_code == 404
    assert _post(admin, f"/admin/partners/{foreign_id}/suspended").status_code == 404
    with committed() as session:
        assert session.get(Partner, foreign_id).status is PartnerStatus.ACTIVE


def test_staff_changes_are_sealed_into_the_chain_at_once(app, admin_office, committed):
    from youcard.domain.models import AuditEvent

    admin = _as(app, admin_office["admin"])
    _post(
        admin,
        "/admin/partners/new",
        {"name": "Sealed", "iban": "DE89370400440532013000", "categories": ["lunch"]},
    )
    with committed() as session:
        unsealed = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.issuer_id == admin_office["issuer_id"], AuditEvent.seq.is_(None)
            )
        ).all()
        sealed = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.issuer_id == admin_office["issuer_id"], AuditEvent.seq.is_not(None)
            )
        ).all()
    assert unsealed == [] and "partner.create" in sealed


def test_accept_another_issuers_partner_for_our_cards(app, admin_office, committed):
    from youcard.domain.enums import Category

    with committed.begin() as session:
        make = Factory(session)
        neighbours_partner = make.partner(make.issuer(), {Category.PARTICIPATION})
        partner_id, home = neighbours_partner.id, neighbours_partner.issuer_id
    admin = _as(app, admin_office["admin"])
    # Until the partner asks to serve this city too, it is not to be found here.
    hidden = admin.get("/admin/partners", base_url=HTTPS).get_data(as_text=True)
    assert f"/admin/partners/{partner_id}/" not in hidden
    before = _post(admin, f"/admin/partners/{partner_id}/permissions", {"categories": ["lunch"]})
    assert before.status_code == 404
    with committed.begin() as session:
        ask_to_serve(
            session,
            by=at_counter(partner_id),
            issuer_id=admin_office["issuer_id"],
            now=NOW,
        )
    listing = admin.get("/admin/partners", base_url=HTTPS).get_data(as_text=True)
    assert "Partner anderer Träger" in listing and "nicht zugelassen" in listing
    r = _post(
        admin, f"/admin/partners/{partner_id}/permissions", {"categories": ["lunch", "trips"]}
    )
    assert r.status_code == 303
    with committed() as session:
        granted = {
            (p.issuer_id, p.category.value) for p in session.get(Partner, partner_id).permissions
        }
    assert granted == {
        (home, "participation"),
        (admin_office["issuer_id"], "lunch"),
        (admin_office["issuer_id"], "trips"),
    }
    _post(admin, f"/admin/partners/{partner_id}/permissions", {})
    with committed() as session:
        granted = {
            (p.issuer_id, p.category.value) for p in session.get(Partner, partner_id).permissions
        }
    assert granted == {(home, "participation")}  # only our own acceptance was withdrawn


def test_the_audit_log_names_people_and_pages_back_through_older_entries(
    app, admin_office, committed
):
    from youcard import audit
    from youcard.domain.models import StaffUser

    with committed.begin() as session:
        admin = session.scalars(
            select(StaffUser).where(StaffUser.username == admin_office["admin"])
        ).one()
        for n in range(205):
            audit.record(
                session, issuer_id=admin_office["issuer_id"], actor=f"staff:{admin.id}",
                action="household.update", object_type="household", object_id=n + 1, now=NOW,
            )  # fmt: skip
        name = admin.display_name
    client = _as(app, admin_office["admin"])
    page = client.get("/admin/audit?action=household.update", base_url=HTTPS).get_data(as_text=True)
    assert f"{name} <small>staff:" in page and "Familie korrigiert" in page
    assert page.count("<tr><td>") == 200 and "es gibt weitere" in page
    assert "205 Einträge passen." in page
    older = re.search(r'href="(/admin/audit\?[^"]*before=\d+[^"]*)"', page).group(1)
    rest = client.get(older.replace("&amp;", "&"), base_url=HTTPS).get_data(as_text=True)
    assert rest.count("<tr><td>") == 5 and "es gibt weitere" not in rest
    assert "205 Einträge passen." in rest  # the filter kept; the count of all that match
    import youcard.reads.audit_log

    youcard.reads.audit_log.COUNT_CAP = 100  # counted no further than the cap
    try:
        capped = client.get("/admin/audit?action=household.update", base_url=HTTPS)
        assert "Mehr als 100 Einträge passen." in capped.get_data(as_text=True)
    finally:
        youcard.reads.audit_log.COUNT_CAP = 10_000
    assert client.get("/admin/audit?before=abc", base_url=HTTPS).status_code == 422


def test_every_staff_view_of_a_family_or_child_is_in_the_access_log(app, admin_office, committed):
    from datetime import timedelta

    from youcard.domain.models import AccessEvent, Household, Issuer
    from youcard.privacy.access_log import forget_old_views, kept_for

    with committed.begin() as session:
        make = Factory(session)
        issuer_row = session.get(Issuer, admin_office["issuer_id"])
        child = make.child(issuer_row)
        caseworker = make.staff(issuer_row, Role.CASEWORKER)
        household_id, child_id, caseworker_name = child.household_id, child.id, caseworker.username
    viewer = _as(app, caseworker_name)
    assert viewer.get(f"/households/{household_id}", base_url=HTTPS).status_code == 200
    assert viewer.get(f"/children/{child_id}", base_url=HTTPS).status_code == 200
    assert viewer.get("/admin/access-log", base_url=HTTPS).status_code == 403  # admins only
    admin = _as(app, admin_office["admin"])
    page = admin.get(f"/admin/access-log?object_type=household&object_id={household_id}",
                     base_url=HTTPS).get_data(as_text=True)  # fmt: skip
    assert "1 Einträge passen." in page and f"Familie {household_id}" in page
    page = admin.get(f"/admin/access-log?object_type=child&object_id={child_id}",
                     base_url=HTTPS).get_data(as_text=True)  # fmt: skip
    assert "1 Einträge passen." in page and "Seite" in page
    assert admin.get("/admin/access-log?object_type=card", base_url=HTTPS).status_code == 422
    assert admin.get("/admin/access-log?object_id=x", base_url=HTTPS).status_code == 422
    with committed.begin() as session:  # kept for its years, then forgotten by the job
        views = select(AccessEvent).where(AccessEvent.object_id.in_((household_id, child_id)))
        for event in session.scalars(views):
            event.viewed_at -= kept_for() + timedelta(days=1)
    with committed.begin() as session:
        assert forget_old_views(session, now=NOW.replace(year=NOW.year + 1)) >= 2
        left = session.scalars(
            select(AccessEvent.id).where(AccessEvent.object_id.in_((household_id, child_id)))
        ).all()
        assert left == [] and session.get(Household, household_id) is not None
