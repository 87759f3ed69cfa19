"""The scanner page over HTTP (Flask test client): sign-in, check, book once, receipt,
cancel, today's bookings, the statement and its CSV; other partners' bookings stay hidden."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

import redeemer
from tests.factories import NOW, PASSWORD
from youcard.domain.enums import BookingKind, CardStatus, Category, PartnerStatus
from youcard.domain.models import AuditEvent, Booking, Card, Entitlement, Partner

HTTPS = "https://localhost"
SAME_ORIGIN = {"Referer": "https://localhost/scan"}  # browsers send it; CSRF checks it


def _csrf(client, path="/login") -> str:
    html = client.get(path, base_url=HTTPS).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', html).group(1)


def _post(client, path, data, **kwargs):
    return client.post(path, data=data, base_url=HTTPS, headers=SAME_ORIGIN, **kwargs)


def _login(client, username, password=PASSWORD, **kwargs):
    return _post(
        client,
        "/login",
        {"username": username, "password": password, "csrf_token": _csrf(client)},
        **kwargs,
    )


@pytest.fixture
def signed_in(client, world, counter_user):
    """A signed-in partner staff member of a world whose child has participation and lunch."""
    w = world(partner_categories={Category.PARTICIPATION, Category.LUNCH})
    username, user_id = counter_user(w.partner_id)
    assert _login(client, username).status_code == 302
    w.extra.update(username=username, user_id=user_id)
    return w


def _check(client, credential):
    return _post(client, "/scan", {"credential": credential, "csrf_token": _csrf(client, "/scan")})


def _form(html: str) -> dict[str, str]:
    form = html[html.index('id="book-form"') :]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))


def _book(client, hidden, amount="15,00", category="participation", json=False, **extra):
    headers = {**SAME_ORIGIN, **({"Accept": "application/json"} if json else {})}
    return client.post(
        "/book",
        data={**hidden, "category": category, "amount": amount, **extra},
        base_url=HTTPS,
        headers=headers,
    )


def _bookings(committed, partner_id):
    with committed() as session:
        return session.scalars(
            select(Booking).where(Booking.partner_id == partner_id).order_by(Booking.id)
        ).all()


# the service worker is a static script (redeemer/static/sw.js): nothing of anyone in it
PUBLIC = {"scanner.login", "scanner.logout", "scanner.index", "scanner.service_worker"}


def test_every_scanner_page_needs_a_partner_staff_sign_in(app, client):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("scanner.")]
    guarded = [r for r in rules if r.endpoint not in PUBLIC]
    assert len(guarded) >= 8  # scan (GET, POST), book, receipt, cancel, today, statement, csv
    for rule in guarded:
        path = re.sub(r"<int:\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                r = client.get(path, base_url=HTTPS)
            else:  # with a valid CSRF token: the sign-in is what refuses
                data = {"csrf_token": _csrf(client)}
                r = client.post(path, data=data, base_url=HTTPS, headers=SAME_ORIGIN)
            assert r.status_code == 302 and "/login" in r.headers["Location"], (method, path)


def test_login_is_german_first_and_wrong_passwords_slow_that_address(
    client, world, counter_user, committed
):
    w = world()
    username, user_id = counter_user(w.partner_id)
    page = client.get("/login", base_url=HTTPS).get_data(as_text=True)
    assert '<html lang="de">' in page and "Anmelden zum Scannen" in page
    assert "Sign in to scan" in client.get("/login?lang=en", base_url=HTTPS).get_data(as_text=True)
    assert _login(client, "nobody-here", "wrong password!").status_code == 401
    codes = [_login(client, username, "wrong password!").status_code for _ in range(5)]
    assert codes == [401] * 4 + [429]
    assert _login(client, username).status_code == 429  # waits, even with the right one
    other = client.application.test_client()  # the counter's own tablet: not slowed (#14.7)
    assert _login(other, username, environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 302
    with committed() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "partner_user", AuditEvent.object_id == str(user_id))
            .order_by(AuditEvent.id)
        ).all()
    assert actions.count("partner_user.login_failed") == 4
    assert "partner_user.throttled" in actions and actions[-1] == "partner_user.login"


def test_login_without_csrf_token_is_refused(client, world, counter_user):
    username, _ = counter_user(world().partner_id)
    r = _post(client, "/login", {"username": username, "password": PASSWORD})
    assert r.status_code == 400 and "/login" not in r.headers.get("Location", "")


def test_a_suspended_partners_staff_cannot_sign_in_or_stay(client, signed_in, committed):
    with committed.begin() as session:
        session.get(Partner, signed_in.partner_id).status = PartnerStatus.SUSPENDED
    assert client.get("/scan", base_url=HTTPS).status_code == 302  # signed out at once
    assert _login(client, signed_in.extra["username"]).status_code == 401


def test_a_valid_card_shows_name_birth_year_and_what_is_left(client, signed_in):
    r = _check(client, signed_in.credential)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Karte gültig" in html
    assert re.search(r'id="holder-name">[^<]+</strong>, geboren 2014', html)
    assert "Soziale und kulturelle Teilhabe" in html and "Mittagessen" in html
    assert 'id="book-form"' in html and len(_form(html)["idempotency_key"]) == 32


@pytest.mark.parametrize(
    ("mutate", "text"),
    [
        ("revoke", "Karte gesperrt"),
        ("garbage", "Kein YouCard-Code"),
        ("tamper", "Karte nicht echt"),
    ],
)
def test_an_unusable_card_says_why_in_plain_words(client, signed_in, committed, mutate, text):
    credential = signed_in.credential
    if mutate == "revoke":
        with committed.begin() as session:
            session.get(Card, signed_in.card_id).status = CardStatus.REVOKED
    elif mutate == "garbage":
        credential = "https://example.org/not-a-card"
    else:
        credential = credential[:-3] + ("A" if credential[-3] != "A" else "B") + credential[-2:]
    html = _check(client, credential).get_data(as_text=True)
    assert text in html and 'id="book-form"' not in html


def test_booking_shows_a_receipt_and_writes_one_booking(client, signed_in, committed):
    hidden = _form(_check(client, signed_in.credential).get_data(as_text=True))
    r = _book(client, hidden, amount="15,00")
    assert r.status_code == 303
    receipt = client.get(r.headers["Location"], base_url=HTTPS).get_data(as_text=True)
    [booking] = _bookings(committed, signed_in.partner_id)
    assert booking.amount_cents == 1500 and booking.category is Category.PARTICIPATION
    assert f'id="booking-number">{booking.id}<' in receipt and "15,00" in receipt
    with committed() as session:
        entitlement = session.get(Entitlement, booking.entitlement_id)
        actor = session.scalar(
            select(AuditEvent.actor).where(
                AuditEvent.action == "booking.create", AuditEvent.object_id == str(booking.id)
            )
        )
    assert entitlement.spent_cents == 1500
    assert actor == f"partner_user:{signed_in.extra['user_id']}"


def test_the_same_attempt_sent_twice_books_once(client, signed_in, committed):
    hidden = _form(_check(client, signed_in.credential).get_data(as_text=True))
    first = _book(client, hidden, json=True)
    again = _book(client, hidden, json=True)  # a double tap, or a retry after a lost answer
    assert first.status_code == again.status_code == 201
    assert first.json["receipt"] == again.json["receipt"] and again.json["replayed"] is True
    assert len(_bookings(committed, signed_in.partner_id)) == 1
    # a new scan is a new attempt: it books again
    hidden2 = _form(_check(client, signed_in.credential).get_data(as_text=True))
    assert hidden2["idempotency_key"] != hidden["idempotency_key"]
    assert _book(client, hidden2, json=True).status_code == 201
    assert len(_bookings(committed, signed_in.partner_id)) == 2


@pytest.mark.parametrize(
    ("fields", "message", "status"),
    [
        ({"amount": "zehn"}, "Bitte geben Sie einen Betrag in Euro ein", 422),
        ({"amount": "-5"}, "Bitte geben Sie einen Betrag in Euro ein", 422),
        ({"amount": "0"}, "Bitte geben Sie einen Betrag in Euro ein", 422),
        ({"amount": "5000,00"}, "nicht mehr genug übrig", 409),
        ({"category": "trips"}, "Sie dürfen diese Leistung nicht buchen", 403),
        ({"category": "<script>"}, "Bitte wählen Sie eine Leistung", 422),
        ({"units": "x"}, "ganze Zahl von Einheiten", 422),
        ({"reference": "x" * 141}, "Die Notiz ist zu lang", 422),
        ({"credential": "YC1:garbage"}, "Kein YouCard-Code", 422),
        ({"idempotency_key": ""}, None, 422),
    ],
)
def test_bad_bookings_are_refused_in_plain_words_and_write_nothing(
    client, signed_in, committed, fields, message, status
):
    hidden = _form(_check(client, signed_in.credential).get_data(as_text=True))
    data = {"category": "participation", "amount": "15,00", **fields}
    hidden.update({k: v for k, v in data.items() if k in hidden})
    rest = {k: v for k, v in data.items() if k not in hidden}
    r = _book(client, hidden, json=True, **rest)
    assert r.status_code == status, r.json
    if message:
        assert message in r.json["error"]
    assert _bookings(committed, signed_in.partner_id) == []
    page = _book(client, hidden, **rest)  # without JavaScript: the result page with the reason
    assert page.status_code == status and "text/html" in page.content_type


def test_cancel_from_the_receipt_and_twice_is_harmless(client, signed_in, committed):
    hidden = _form(_check(client, signed_in.credential).get_data(as_text=True))
    receipt = _book(client, hidden).headers["Location"]
    booking_id = int(receipt.rsplit("/", 1)[1])
    token = _csrf(client, receipt)
    for _ in range(2):
        r = _post(client, f"/bookings/{booking_id}/cancel", {"csrf_token": token})
        assert r.status_code == 303
    page = client.get(receipt, base_url=HTTPS).get_data(as_text=True)
    assert "Buchung storniert" in page and "Diese Buchung stornieren" not in page
    kinds = [b.kind for b in _bookings(committed, signed_in.partner_id)]
    assert kinds == [BookingKind.BOOKING, BookingKind.CANCELLATION]
    with committed() as session:
        assert session.get(Entitlement, signed_in.entitlement_ids["participation"]).spent_cents == 0


def test_another_partners_booking_is_not_found(
    client, app, signed_in, world, counter_user, committed
):
    hidden = _form(_check(client, signed_in.credential).get_data(as_text=True))
    receipt = _book(client, hidden).headers["Location"]
    booking_id = int(receipt.rsplit("/", 1)[1])
    other = app.test_client()
    username, _ = counter_user(world().partner_id)
    _login(other, username)
    assert other.get(receipt, base_url=HTTPS).status_code == 404
    token = _csrf(other, "/scan")
    r = other.post(
        f"/bookings/{booking_id}/cancel",
        data={"csrf_token": token},
        base_url=HTTPS,
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 404
    assert f"Beleg {booking_id}" not in other.get("/bookings", base_url=HTTPS).get_data(
        as_text=True
    )
    assert len(_bookings(committed, signed_in.partner_id)) == 1  # nothing cancelled


def test_todays_bookings_and_the_monthly_statement_with_csv(client, signed_in, committed):
    for amount in ("15,00", "7,50"):
        hidden = _form(_check(client, signed_in.credential).get_data(as_text=True))
        last = _book(client, hidden, amount=amount).headers["Location"]
    _post(
        client,
        last.replace("/receipts/", "/bookings/") + "/cancel",
        {"csrf_token": _csrf(client, last)},
    )
    today = client.get("/bookings", base_url=HTTPS).get_data(as_text=True)
    ids = [
        b.id for b in _bookings(committed, signed_in.partner_id) if b.kind is BookingKind.BOOKING
    ]
    assert all(f"Beleg {i}" in today for i in ids) and "storniert" in today
    month = NOW.strftime("%Y-%m")
    statement = client.get(f"/statement?month={month}", base_url=HTTPS).get_data(as_text=True)
    assert 'id="statement-total">15,00' in statement and "Vorläufig" in statement
    r = client.get(f"/statement.csv?month={month}", base_url=HTTPS)
    assert (
        r.content_type.startswith("text/csv") and "attachment" in r.headers["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True)), delimiter=";"))
    assert [row["amount_eur"] for row in rows] == ["15,00", "7,50", "-7,50"]
    assert [row["kind"] for row in rows] == ["booking", "booking", "cancellation"]
    earlier = (NOW - timedelta(days=40)).strftime("%Y-%m")
    before = client.get(f"/statement?month={earlier}", base_url=HTTPS).get_data(as_text=True)
    assert "In diesem Monat gibt es keine Buchungen" in before
    for bad in ("2026-13", "0001-01", "9999-12"):  # #14.14: never a 500
        assert client.get(f"/statement?month={bad}", base_url=HTTPS).status_code == 422
        assert client.get(f"/statement.csv?month={bad}", base_url=HTTPS).status_code == 422


def test_a_csv_cell_never_starts_a_formula(client, signed_in):
    hidden = _form(_check(client, signed_in.credential).get_data(as_text=True))
    _book(client, hidden, reference='=HYPERLINK("http://evil")')
    body = client.get(f"/statement.csv?month={NOW:%Y-%m}", base_url=HTTPS).get_data(as_text=True)
    [row] = list(csv.DictReader(io.StringIO(body), delimiter=";"))
    assert row["reference"] == '\'=HYPERLINK("http://evil")'


def test_scanner_pages_send_a_strict_content_security_policy(client, signed_in):
    r = client.get("/scan", base_url=HTTPS)
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert r.headers["Cache-Control"] == "no-store"
    assert "jsQR.js" in r.get_data(as_text=True)
    api = client.get("/api/v1/openapi.json", base_url=HTTPS)
    assert api.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_credential_never_reaches_a_url(client, signed_in):
    html = _check(client, signed_in.credential).get_data(as_text=True)
    assert "?credential=" not in html
    assert signed_in.credential in html  # only in the hidden field of the POST form
    assert re.search(r'<form method="post" action="/book"', html)


def test_the_scanner_session_cookie_is_its_own_and_locked_down(client, world, counter_user):
    username, _ = counter_user(world().partner_id)
    cookie = _login(client, username).headers["Set-Cookie"]
    assert cookie.startswith("youcard_redeemer=")  # not the issuer's cookie on the same host
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_in_attempts_from_one_address_are_still_rate_limited(
    database_url, tmp_path, monkeypatch, world
):
    """Flask-Limiter is kept from the API's requests (they count themselves), not the pages'."""
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    app = redeemer.create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "CLOCK": lambda: NOW,
            "LOGIN_RATE_LIMIT": "3/minute",
            "RATE_LIMIT": "5/minute",
        }
    )
    client = app.test_client()
    codes = [_login(client, f"nobody{i}", "wrong password!").status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    pages = [client.get("/login", base_url=HTTPS).status_code for _ in range(6)]
    assert pages[-1] == 429  # the default limit covers the pages too
    w = world()
    api = client.get("/api/v1/bookings", headers=w.auth)
    assert api.status_code == 200 and "Set-Cookie" not in api.headers  # no session for the API


def test_cancelling_a_booking_of_a_settled_month_asks_first_and_says_it_corrects_the_next(
    client, signed_in, committed
):
    from datetime import UTC, date, datetime

    from youcard.domain.models import Booking
    from youcard.operations.settlements import finalize, prepare
    from youcard.policy import Staff

    hidden = _form(_check(client, signed_in.credential).get_data(as_text=True))
    receipt = _book(client, hidden).headers["Location"]
    page = client.get(receipt, base_url=HTTPS).get_data(as_text=True)
    assert "Diese Buchung stornieren</button>" in page  # this month: no question needed
    booking_id = int(receipt.rsplit("/", 1)[1])
    with committed.begin() as session:
        booked = session.get(Booking, booking_id)
        month = booked.service_date.replace(day=1)
        after = datetime.combine(month + timedelta(days=40), datetime.min.time(), tzinfo=UTC)
        by = Staff.system(booked.issuer_id, "test")
        run = prepare(session, by=by, month=date(month.year, month.month, 1), now=after)
        finalize(session, settlement_id=run.id, by=by, now=after)
    page = client.get(receipt, base_url=HTTPS).get_data(as_text=True)
    assert "<summary>Diese Buchung stornieren …</summary>" in page
    assert "Korrektur in der Abrechnung des nächsten Monats" in page
