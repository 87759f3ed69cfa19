"""Staff sign-in, lockout, CSRF, language, security headers, roles, and the public trust list."""

from __future__ import annotations

import re
import secrets

import pytest
from sqlalchemy import select

import issuer
from tests.factories import NOW, PASSWORD, Factory
from youcard.domain.enums import Role
from youcard.domain.models import AuditEvent

HTTPS = "https://localhost"
SAME_ORIGIN = {"Referer": "https://localhost/login"}  # browsers send it; CSRF checks it over HTTPS


def _csrf(client, path="/login") -> str:
    html = client.get(path, base_url=HTTPS).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', html).group(1)


def _login(client, username, password=PASSWORD, environ_base=None):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": _csrf(client)},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
        environ_base=environ_base or {},
    )


def test_the_login_page_is_german_first_and_english_on_request(client):
    de = client.get("/login", base_url=HTTPS)
    assert de.status_code == 200 and '<html lang="de">' in de.get_data(as_text=True)
    assert "Anmelden" in de.get_data(as_text=True) and "Benutzername" in de.get_data(as_text=True)
    en = client.get("/login?lang=en", base_url=HTTPS).get_data(as_text=True)
    assert '<html lang="en">' in en and "Username" in en
    assert "Username" in client.get("/login", base_url=HTTPS).get_data(as_text=True)  # remembered
    browser = client.application.test_client().get(
        "/login", base_url=HTTPS, headers={"Accept-Language": "en-GB,en;q=0.9"}
    )
    assert "Username" in browser.get_data(as_text=True)


def _session_cookies(response) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith("youcard_issuer=")]


def test_an_answer_that_changes_nothing_sends_no_session_back(client):
    """A browser asks for a page's favicon (or any other part) while the visitor already
    moves on; the slow answer carried the session it was asked with, and put it back: a
    visitor who had switched to German got English again (CI, 2026-12-06). Now an anonymous
    answer sends the session only when it changed it, so a late one cannot undo a choice."""
    first = client.get("/login?lang=en", base_url=HTTPS)
    assert len(_session_cookies(first)) == 1  # the choice and a form's token: a new session
    english = client.get_cookie("youcard_issuer", domain="localhost").value
    assert _session_cookies(client.get("/login", base_url=HTTPS)) == []
    assert _session_cookies(client.get("/favicon.ico", base_url=HTTPS)) == []
    assert _session_cookies(client.get("/login?lang=de", base_url=HTTPS)) != []
    late = client.application.test_client()  # the favicon request, sent before the switch
    late.set_cookie("youcard_issuer", english, domain="localhost")
    answer = late.get("/favicon.ico", base_url=HTTPS)
    assert answer.status_code == 404 and _session_cookies(answer) == []
    assert "remember_token" not in str(answer.headers)
    assert "Benutzername" in client.get("/login", base_url=HTTPS).get_data(as_text=True)


def test_sign_in_shows_the_overview_in_the_users_role(client, staff):
    username, _ = staff(Role.APPROVER)
    anonymous = client.get("/", base_url=HTTPS)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    r = _login(client, username)
    assert r.status_code == 302 and r.headers["Location"].endswith("/")
    page = client.get("/", base_url=HTTPS).get_data(as_text=True)
    assert "Übersicht" in page and "(Freigabe)" in page


def test_wrong_password_and_unknown_user_get_the_same_answer(client, staff):
    username, _ = staff()
    wrong = _login(client, username, "not the password")
    unknown = _login(client, "nobody-at-all", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Benutzername oder Passwort ist falsch." in wrong.get_data(as_text=True)
    assert "Benutzername oder Passwort ist falsch." in unknown.get_data(as_text=True)


def test_five_failures_slow_that_address_and_never_lock_out_the_owner(client, staff, committed):
    """OWASP: throttle per (account, address), growing delays; the owner signs in from
    another address all the while (#14.7)."""
    username, issuer_id = staff()
    attacker = {"REMOTE_ADDR": "203.0.113.9"}
    codes = [_login(client, username, "wrong", environ_base=attacker).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    waiting = _login(client, username, environ_base=attacker)  # even the right password waits
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "60"
    assert "einige Minuten" in waiting.get_data(as_text=True)
    owner = client.application.test_client()
    assert _login(owner, username, environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 302
    with committed() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.issuer_id == issuer_id)
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["staff.login_failed"] * 4 + ["staff.throttled", "staff.login"]


def test_the_wait_grows_with_every_further_failure_and_a_success_lifts_it(
    app, client, staff, committed
):
    from datetime import timedelta

    username, issuer_id = staff()
    clock = [NOW]
    app.config["CLOCK"] = lambda: clock[0]
    waits = []
    for _ in range(8):
        r = _login(client, username, "wrong")
        waits.append(r.headers.get("Retry-After"))
        clock[0] += timedelta(minutes=20)  # past any wait: the next failure counts again
    assert waits == [None, None, None, None, "60", "120", "240", "480"]
    assert _login(client, username).status_code == 302
    with committed() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.issuer_id == issuer_id)
            .order_by(AuditEvent.id)
        ).all()
    assert actions.count("staff.throttled") == 4 and actions[-2:] == [
        "staff.throttle_lifted",
        "staff.login",
    ]


def test_unknown_usernames_are_throttled_alike(client):
    name = f"nobody-{secrets.token_hex(4)}"
    codes = [_login(client, name, "wrong").status_code for _ in range(6)]
    assert codes == [401, 401, 401, 401, 429, 429]


def test_forms_without_a_csrf_token_are_refused(client, staff):
    username, _ = staff()
    r = client.post("/login", data={"username": username, "password": PASSWORD}, base_url=HTTPS)
    assert r.status_code == 400
    assert client.get("/", base_url=HTTPS).status_code == 302  # not signed in
    _login(client, username)
    assert client.post("/logout", base_url=HTTPS).status_code == 400
    assert client.get("/logout", base_url=HTTPS).status_code == 405
    out = client.post(
        "/logout", data={"csrf_token": _csrf(client, "/")}, base_url=HTTPS, headers=SAME_ORIGIN
    )
    assert out.status_code == 302
    assert client.get("/", base_url=HTTPS).status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "/%09/evil.example",  # a browser drops the tab: //evil.example (#14.6)
        "/%0d/x",  # a line break in Location was a 500
        "/%0a/evil.example",
        "/%20/evil.example",
        "/%5c/evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "%2f%2fevil.example",
    ],
)
def test_no_open_redirect_after_sign_in(app, staff, target):
    username, _ = staff()
    client = app.test_client()
    r = client.post(
        f"/login?next={target}",
        data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client)},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 302
    assert r.headers["Location"] in ("/", "https://localhost/")


def test_a_same_site_next_path_is_kept(client, staff):
    username, _ = staff()
    r = client.post(
        "/login?next=/households%3Fq%3Dx",
        data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client)},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert r.headers["Location"].endswith("/households?q=x")


def test_sign_out_ends_the_session_on_the_server(client, staff):
    """A copy of the cookie taken before sign-out no longer works (#14.8)."""
    username, _ = staff()
    _login(client, username)
    stolen = client.get_cookie("youcard_issuer", domain="localhost").value
    assert client.get("/", base_url=HTTPS).status_code == 200
    client.post(
        "/logout", data={"csrf_token": _csrf(client, "/")}, base_url=HTTPS, headers=SAME_ORIGIN
    )
    replay = client.application.test_client()
    replay.set_cookie("youcard_issuer", stolen, domain="localhost")
    r = replay.get("/", base_url=HTTPS)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_cookies_and_headers(client, staff):
    username, _ = staff()
    r = _login(client, username)
    cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/", base_url=HTTPS)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"


def test_login_attempts_from_one_address_are_rate_limited(
    database_url, tmp_path, monkeypatch, staff
):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    app = issuer.create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "CLOCK": lambda: NOW,
            "LOGIN_RATE_LIMIT": "3/minute",
        }
    )
    client = app.test_client()
    codes = [_login(client, f"nobody{i}", "x").status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    limited = _login(client, "nobody", "x")  # says when to try again (#27.4)
    assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 60


ROUTES = [("GET", "/")]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_role_matrix(client, staff, role, method, path):
    """Every page and every role: allowed or refused (the matrix grows with the pages)."""
    allowed = {"/": set(Role)}
    username, _ = staff(role)
    _login(client, username)
    r = client.open(path, method=method, base_url=HTTPS)
    assert r.status_code == (200 if role in allowed[path] else 403)


def test_the_public_trust_list_has_an_etag_and_caching(client, committed):
    with committed.begin() as session:
        make = Factory(session)
        make.signing_key(make.issuer())
    r = client.get("/.well-known/youcard/trust-list.json")
    assert r.status_code == 200 and r.is_json
    assert r.headers["Cache-Control"] == "public, max-age=300"
    assert r.json["keys"] and {"kty", "crv", "x", "kid", "iss", "status"} <= set(r.json["keys"][0])
    etag = r.headers["ETag"]
    again = client.get("/.well-known/youcard/trust-list.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    with committed.begin() as session:
        make = Factory(session)
        make.signing_key(make.issuer())
    changed = client.get("/.well-known/youcard/trust-list.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
