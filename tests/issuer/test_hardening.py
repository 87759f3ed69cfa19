"""What outside testing found on the issuer (#14): each refused with a clear 4xx, nothing
changed, never a 500."""

from __future__ import annotations

import logging
import secrets
import threading

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, Factory
from youcard.domain.enums import Role
from youcard.domain.models import Household
from youcard.operations.staff_tokens import create_staff_token
from youcard.policy import Staff

HTTPS = "https://localhost"


@pytest.fixture
def token(committed):
    """A caseworker's API token of a new issuer: (token, issuer id)."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        user = make.staff(issuer, Role.CASEWORKER)
        made = create_staff_token(
            session,
            by=Staff.system(issuer.id, "test"),
            username=user.username,
            name="Fachverfahren",
            now=NOW,
        )
        return made.token, issuer.id


def _call(client, method, path, token, **kwargs):
    return client.open(
        path,
        method=method,
        base_url=HTTPS,
        headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})},
        **kwargs,
    )


def test_parallel_households_with_one_reference_give_one_201_and_409s(app, token, committed):
    """#14.15: the unique violation of a race is a 409, never a 500."""
    secret, issuer_id = token
    reference = f"BG-{secrets.token_hex(4)}"
    statuses: list[int] = []
    start = threading.Barrier(8)

    def create() -> None:
        client = app.test_client()
        start.wait()
        r = _call(
            client,
            "POST",
            "/api/v1/households",
            secret,
            json={"reference": reference, "family_name": "Nowak"},
        )
        statuses.append(r.status_code)
        if r.status_code == 409:
            assert r.json["code"] in ("reference_taken", "already_exists") and r.json["detail"]

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 7
    with committed() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Household)
            .where(Household.issuer_id == issuer_id, Household.reference == reference)
        )
    assert count == 1


def test_a_failed_statement_logs_no_parameters(committed, caplog):
    """#14.9: a database error's text never carries the statement's values (names)."""
    name = f"Geheimname-{secrets.token_hex(4)}"
    with committed() as session:
        issuer_id = Factory(session).issuer().id
        session.commit()
        session.add(
            Household(issuer_id=issuer_id, reference="X-1", family_name=name, created_at=NOW)
        )
        session.commit()
        session.add(
            Household(issuer_id=issuer_id, reference="X-1", family_name=name, created_at=NOW)
        )
        with pytest.raises(Exception) as raised:  # noqa: PT011 (any database error)
            session.commit()
        session.rollback()
    logging.getLogger("test").exception("failed", exc_info=raised.value)
    assert name not in str(raised.value) and name not in caplog.text
    assert "hidden" in str(raised.value)


def test_hsts_over_https_and_no_caching_of_the_staff_api_and_family_pages(app, token):
    """#14.10."""
    secret, _ = token
    client = app.test_client()
    over_https = _call(client, "GET", "/api/v1/households", secret)
    assert over_https.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert over_https.headers["Cache-Control"] == "no-store"
    plain = client.get("/family/login", base_url="http://localhost")
    assert "Strict-Transport-Security" not in plain.headers
    assert plain.headers["Cache-Control"] == "no-store"
    manifest = client.get("/family/manifest.webmanifest", base_url=HTTPS)
    assert manifest.headers["Cache-Control"] == "no-store"
    # behind a proxy, only when configured to trust it: a client cannot claim https itself
    forged = client.get(
        "/family/login", base_url="http://localhost", headers={"X-Forwarded-Proto": "https"}
    )
    assert "Strict-Transport-Security" not in forged.headers


def test_the_configured_proxy_is_trusted_for_https_and_the_address(database_url, tmp_path):
    import issuer

    proxied = issuer.create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "PROXIES": 1, "SECRET_KEY": "x" * 32}
    )
    r = proxied.test_client().get(
        "/family/login",
        base_url="http://localhost",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"},
    )
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/households?q=a%00b", "/households?q=a%00b", "/admin/audit?actor=a%00b"],
)
def test_nul_in_a_query_is_400(app, token, path):
    """#14.12: was a 500 (PostgreSQL refuses NUL in text)."""
    secret, _ = token
    r = _call(app.test_client(), "GET", path, secret)
    assert r.status_code == 400


def test_nul_in_a_name_on_the_staff_api_is_400_and_writes_nothing(app, token, committed):
    secret, issuer_id = token
    r = _call(
        app.test_client(),
        "POST",
        "/api/v1/households",
        secret,
        json={"reference": "NUL-1", "family_name": "No\u0000wak"},
    )
    assert (r.status_code, r.json["code"]) == (400, "invalid_json")
    with committed() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Household).where(Household.issuer_id == issuer_id)
            )
            == 0
        )


@pytest.mark.parametrize(
    "path", ["/admin/audit?from=0001-01-01&to=9999-12-31", "/admin/audit?from=2026-01-01&to=99999"]
)
def test_audit_dates_out_of_range_are_422(app, staff, path):
    """#14.14."""
    from tests.issuer.test_staff_login import _login

    username, _ = staff(Role.ADMINISTRATOR)
    client = app.test_client()
    assert _login(client, username).status_code == 302
    assert client.get(path, base_url=HTTPS).status_code == 422


def test_json_nested_a_thousand_deep_is_400_on_the_staff_api(app, token):
    """#14.13."""
    secret, _ = token
    r = _call(
        app.test_client(),
        "POST",
        "/api/v1/households",
        secret,
        data="[" * 1000 + "]" * 1000,
        headers={"Content-Type": "application/json"},
    )
    assert (r.status_code, r.json["code"]) == (400, "invalid_json") and r.json["detail"]


def test_the_page_and_the_api_make_the_same_rule_from_an_amount(app, token, committed):
    """#15: the API made lunch a 5 EUR total while the page allowed an amount only for trips;
    both now ask the core (rule_from_amount)."""
    secret, _ = token
    client = app.test_client()
    r = _call(
        client, "POST", "/api/v1/households", secret, json={"reference": "R-1", "family_name": "A"}
    )
    r = _call(
        client,
        "POST",
        f"/api/v1/households/{r.json['id']}/children",
        secret,
        json={"given_name": "Lena", "family_name": "A", "birth_date": "2014-02-03"},
    )
    child_id = r.json["children"][0]["id"]
    period = {"valid_from": "2026-01-01", "valid_until": "2026-12-31"}
    path = f"/api/v1/children/{child_id}/entitlements"
    lunch = _call(
        client, "POST", path, secret, json={"category": "lunch", "amount_cents": 500, **period}
    )
    assert (lunch.status_code, lunch.json["code"]) == (422, "amount_not_for_category")
    trips = _call(client, "POST", path, secret, json={"category": "trips", **period})
    assert (trips.status_code, trips.json["code"]) == (422, "rule_required")
    ok = _call(client, "POST", path, secret, json={"category": "lunch", **period})
    assert ok.status_code == 201
    with committed() as session:
        from youcard.domain.models import Entitlement

        rule = session.get(Entitlement, ok.json["id"]).rule.value
    assert rule == "units"


@pytest.mark.parametrize(
    "path", ["/imports/9223372036854775808", "/households/99999999999999999999999", "/children/-1"]
)
def test_ids_beyond_bigint_in_a_url_are_404_not_500(app, staff, path):
    from tests.issuer.test_households import _as

    username, _issuer = staff(Role.ADMINISTRATOR)
    assert _as(app, username).get(path, base_url=HTTPS).status_code == 404
