"""The issuer's JSON API: staff tokens, the same rules as the pages, problem+json errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from tests.factories import NOW, Factory, check_credential
from youcard.domain.enums import EntitlementStatus, Role
from youcard.domain.models import StaffToken
from youcard.operations.staff_tokens import create_staff_token
from youcard.policy import Staff

HTTPS = "https://localhost"


@pytest.fixture
def tokens(committed):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        make.signing_key(issuer)
        result = {"issuer_id": issuer.id}
        for role in Role:
            user = make.staff(issuer, role)
            result[role.value] = create_staff_token(
                session,
                by=Staff.system(issuer.id, "test"),
                username=user.username,
                name="Fachverfahren",
                now=NOW,
            ).token
        return result


def _call(client, method, path, token, json=None):
    return client.open(
        path,
        method=method,
        json=json,
        base_url=HTTPS,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )


def test_case_management_flow_through_the_api(client, tokens, committed):
    cw, ap, ad = tokens["caseworker"], tokens["approver"], tokens["administrator"]
    r = _call(
        client, "POST", "/api/v1/households", cw, {"reference": "FV-1", "family_name": "Nowak"}
    )
    assert r.status_code == 201
    household_id = r.json["id"]
    r = _call(
        client,
        "POST",
        f"/api/v1/households/{household_id}/children",
        cw,
        {"given_name": "Lena", "family_name": "Nowak", "birth_date": "2012-01-30"},
    )
    child_id = r.json["children"][0]["id"]
    r = _call(
        client,
        "POST",
        f"/api/v1/children/{child_id}/entitlements",
        cw,
        {
            "category": "trips",
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
            "amount_cents": 25000,
        },
    )
    assert r.status_code == 201 and r.json["status"] == "recorded"
    entitlement_id = r.json["id"]
    r = _call(client, "POST", f"/api/v1/entitlements/{entitlement_id}/approve", cw, {})
    assert (r.status_code, r.json["code"]) == (403, "role_not_permitted")
    r = _call(client, "POST", f"/api/v1/entitlements/{entitlement_id}/approve", ap, {})
    assert r.status_code == 200 and r.json["status"] == "approved"
    r = _call(client, "POST", f"/api/v1/children/{child_id}/cards", ap)
    assert r.status_code == 201
    card = r.json
    with committed() as session:
        assert check_credential(session, card["credential"], now=NOW).valid
    detail = _call(client, "GET", f"/api/v1/households/{household_id}", ad).json
    with committed() as session:
        from youcard.domain.models import AccessEvent

        via = session.scalars(
            select(AccessEvent.via).where(
                AccessEvent.object_type == "household", AccessEvent.object_id == household_id
            )
        ).all()
        assert via == ["api"]  # the staff API's reads are in the access log too
    (entitlement,) = detail["children"][0]["entitlements"]
    assert entitlement["available_cents"] == 25000
    r = _call(client, "POST", f"/api/v1/cards/{card['id']}/replace", ap, {"reason": "verloren"})
    assert r.status_code == 200 and r.json["version"] == 2
    with committed() as session:
        assert check_credential(session, card["credential"], now=NOW).reason == "revoked"
    found = _call(client, "GET", "/api/v1/households?q=fv-1", cw).json
    assert [h["id"] for h in found["items"]] == [household_id]
    assert found["total"] == 1 and found["next_cursor"] is None
    assert found["items"][0]["children"] == 1


def test_four_eyes_through_the_api(client, tokens):
    ad = tokens["administrator"]
    household_id = _call(
        client, "POST", "/api/v1/households", ad, {"reference": "FV-2", "family_name": "A"}
    ).json["id"]
    child_id = _call(
        client,
        "POST",
        f"/api/v1/households/{household_id}/children",
        ad,
        {"given_name": "B", "family_name": "A", "birth_date": "2015-01-01"},
    ).json["children"][0]["id"]
    entitlement_id = _call(
        client,
        "POST",
        f"/api/v1/children/{child_id}/entitlements",
        ad,
        {"category": "lunch", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
    ).json["id"]
    r = _call(client, "POST", f"/api/v1/entitlements/{entitlement_id}/approve", ad, {})
    assert (r.status_code, r.json["code"]) == (403, "four_eyes")


def test_tokens_and_bad_input(client, tokens, committed):
    cw = tokens["caseworker"]
    assert _call(client, "GET", "/api/v1/households", None).status_code == 401
    assert _call(client, "GET", "/api/v1/households", "ycs_wrong").status_code == 401
    r = _call(
        client, "POST", "/api/v1/households", cw, {"reference": "", "family_name": "x", "extra": 1}
    )
    assert r.status_code == 422 and r.content_type == "application/problem+json"
    assert set(r.json["errors"]["json"]) == {"reference", "extra"}
    _call(client, "POST", "/api/v1/households", cw, {"reference": "FV-3", "family_name": "x"})
    r = _call(client, "POST", "/api/v1/households", cw, {"reference": "FV-3", "family_name": "y"})
    assert (r.status_code, r.json["code"]) == (409, "reference_taken")
    r = _call(
        client,
        "POST",
        "/api/v1/children/999999/entitlements",
        cw,
        {"category": "lunch", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
    )
    assert (r.status_code, r.json["code"]) == (404, "child_not_found")
    r = _call(
        client,
        "POST",
        "/api/v1/households/1/children",
        cw,
        {"given_name": "X", "family_name": "Y", "birth_date": "01.02.2015"},
    )
    assert r.status_code == 422
    with committed.begin() as session:
        session.execute(
            update(StaffToken)
            .values(revoked_at=NOW)
            .where(StaffToken.issuer_id == tokens["issuer_id"])
        )
    assert _call(client, "GET", "/api/v1/households", cw).status_code == 401


def test_another_issuers_household_is_not_found(client, tokens, committed):
    with committed.begin() as session:
        make = Factory(session)
        other = make.issuer()
        child = make.child(other)
        household_id = child.household_id
    r = _call(client, "GET", f"/api/v1/households/{household_id}", tokens["administrator"])
    assert (r.status_code, r.json["code"]) == (404, "household_not_found")


def test_the_api_is_documented_and_its_cli_token_works(
    client, committed, database_url, monkeypatch, tmp_path
):
    spec = client.get("/api/v1/openapi.json", base_url=HTTPS).json
    assert "/api/v1/children/{child_id}/cards" in spec["paths"]
    assert spec["components"]["securitySchemes"]["staffToken"]["scheme"] == "bearer"
    with committed.begin() as session:
        username = Factory(session).staff(Factory(session).issuer(), Role.CASEWORKER).username
    from youcard.cli import main

    monkeypatch.setenv("YOUCARD_DATABASE_URL", database_url)
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    out = CliRunner().invoke(main, ["staff-token", "create", username, "Fachverfahren"])
    token = out.output.strip()
    assert out.exit_code == 0 and token.startswith("ycs_")
    assert _call(client, "GET", "/api/v1/households", token).status_code == 200
    with committed() as session:
        assert token.encode() not in session.scalars(select(StaffToken.token_hash)).all()


def test_partners_keys_and_audit_through_the_api(client, tokens, committed):
    from youcard.domain.models import DeviceToken, Partner
    from youcard.security import token_hash

    ad = tokens["administrator"]
    bad = _call(
        client,
        "POST",
        "/api/v1/partners",
        ad,
        {"name": "TuS", "iban": "DE89370400440532013001", "categories": ["participation"]},
    )
    assert (bad.status_code, bad.json["code"]) == (422, "invalid_iban")
    r = _call(
        client,
        "POST",
        "/api/v1/partners",
        ad,
        {"name": "TuS", "iban": "DE89 3704 0044 0532 0130 00", "categories": ["participation"]},
    )
    assert (
        r.status_code == 201
        and r.json["status"] == "pending"
        and r.json["iban"] == "DE89370400440532013000"
    )
    partner_id = r.json["id"]
    assert (
        _call(client, "POST", f"/api/v1/partners/{partner_id}/active", ad).json["status"]
        == "active"
    )
    r = _call(
        client, "POST", f"/api/v1/partners/{partner_id}/permissions", ad, {"categories": ["lunch"]}
    )
    assert r.json["categories"] == ["lunch"]
    made = _call(
        client, "POST", f"/api/v1/partners/{partner_id}/tokens", ad, {"name": "Kasse"}
    ).json
    with committed() as session:
        assert session.get(DeviceToken, made["id"]).token_hash == token_hash(made["token"])
    assert _call(client, "POST", f"/api/v1/devices/{made['id']}/revoke", ad).status_code == 200
    assert [p["name"] for p in _call(client, "GET", "/api/v1/partners", ad).json] == ["TuS"]
    rotated = _call(client, "POST", "/api/v1/keys/rotate", ad)
    assert rotated.status_code == 201 and rotated.json["status"] == "active"
    assert [k["status"] for k in _call(client, "GET", "/api/v1/keys", ad).json] == [
        "retired",
        "active",
    ]
    events = _call(client, "GET", "/api/v1/audit?object_type=partner", ad).json["items"]
    assert {e["action"] for e in events} >= {
        "partner.create",
        "partner.active",
        "partner.permissions",
    }
    first = _call(client, "GET", "/api/v1/audit?object_type=partner&limit=1", ad).json
    older = _call(
        client,
        "GET",
        f"/api/v1/audit?object_type=partner&limit=2&cursor={first['next_cursor']}",
        ad,
    ).json
    assert [e["id"] for e in [*first["items"], *older["items"]]] == [e["id"] for e in events[:3]]
    assert _call(client, "GET", "/api/v1/audit?colour=red", ad).status_code == 422
    with committed() as session:
        assert session.get(Partner, partner_id).status.value == "active"


BAD_BODIES = [
    ("/api/v1/households", {"reference": 7, "family_name": ["x"]}),
    ("/api/v1/households", {"reference": "R" * 61, "family_name": "x"}),
    ("/api/v1/households", {"family_name": "missing reference"}),
    (
        "/api/v1/households/{household}/children",
        {"given_name": "A", "family_name": "B", "birth_date": "2015-13-01"},
    ),
    (
        "/api/v1/households/{household}/children",
        {"given_name": "", "family_name": "B", "birth_date": "2015-01-01"},
    ),
    (
        "/api/v1/children/{child}/entitlements",
        {"category": "school_supplies", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
    ),
    (
        "/api/v1/children/{child}/entitlements",
        {
            "category": "trips",
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
            "amount_cents": 12.5,
        },
    ),
    (
        "/api/v1/children/{child}/entitlements",
        {"category": "lunch", "valid_from": "2026-12-31", "valid_until": "2026-01-01"},
    ),
    ("/api/v1/entitlements/{entitlement}/reject", {"reason": 5}),
    ("/api/v1/entitlements/{entitlement}/reject", {}),
    ("/api/v1/cards/{card}/revoke", {"reason": "x" * 501}),
    ("/api/v1/cards/{card}/revoke", {"reason": "", "extra": True}),
    ("/api/v1/partners", {"name": "P", "iban": "DE89370400440532013000", "categories": []}),
    ("/api/v1/partners", {"name": "P", "iban": "DE89370400440532013000", "categories": ["cash"]}),
    ("/api/v1/partners/{partner}/tokens", {"name": ""}),
    ("/api/v1/partners/{partner}/permissions", {"categories": "lunch"}),
]


def test_bad_bodies_on_every_api_route_are_422_and_change_nothing(client, tokens, committed):
    from sqlalchemy import func

    from youcard.domain.models import AuditEvent, Card, Child, Entitlement, Household, Partner
    from youcard.operations.cards import issue_card

    with committed.begin() as session:
        make = Factory(session)
        from youcard.domain.models import Issuer

        issuer = session.get(Issuer, tokens["issuer_id"])
        child = make.child(issuer)
        make.entitlement(child)  # approved: the card needs it
        recorded = make.entitlement(child, status=EntitlementStatus.RECORDED)
        from tests.factories import KEK

        card = issue_card(
            session, child_id=child.id, by=Staff.system(issuer.id, "t"), now=NOW, kek=KEK
        )
        partner = make.partner(issuer)
        ids = {
            "household": child.household_id,
            "child": child.id,
            "entitlement": recorded.id,
            "card": card.id,
            "partner": partner.id,
        }

    def snapshot():
        with committed() as session:
            return tuple(
                session.scalar(
                    select(func.count()).select_from(t).where(t.issuer_id == tokens["issuer_id"])
                )
                for t in (AuditEvent, Household, Child, Entitlement, Card, Partner)
            )

    before = snapshot()
    for path, body in BAD_BODIES:
        r = _call(client, "POST", path.format(**ids), tokens["administrator"], body)
        assert r.status_code == 422, (path, body, r.status_code, r.get_data(as_text=True)[:200])
        assert r.content_type == "application/problem+json" and r.json["code"]
    assert snapshot() == before


def test_the_households_list_pages_with_a_cursor(client, tokens):
    cw = tokens["caseworker"]
    for n in range(5):
        r = _call(client, "POST", "/api/v1/households", cw,
                  {"reference": f"PG-{n}", "family_name": "Seite"})  # fmt: skip
        assert r.status_code == 201
    seen, cursor = [], None
    while True:
        page = _call(client, "GET", "/api/v1/households?q=seite&limit=2" +
                     (f"&cursor={cursor}" if cursor else ""), cw).json  # fmt: skip
        assert page["total"] == 5
        seen += [h["reference"] for h in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"PG-{n}" for n in range(5)]
    for bad in ("cursor=%25%25", "cursor=AA", "limit=0", "limit=1001", "nope=1"):
        r = _call(client, "GET", f"/api/v1/households?{bad}", cw)
        assert r.status_code == 422, bad
