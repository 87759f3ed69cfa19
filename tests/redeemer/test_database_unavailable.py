"""When the database cannot be reached, both apps answer 503 with Retry-After (a problem on
the APIs, the error page on the pages), never a 500; nothing else happens. (Under load, with
the database crashing and coming back: tests/concurrency/test_fault_drill.py.)"""

from __future__ import annotations

import socket

import issuer
import redeemer

HTTPS = "https://localhost"


def _nowhere() -> str:
    """A PostgreSQL URL on a local port nothing listens on (refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/youcard?connect_timeout=2"


def _config() -> dict[str, object]:
    return {"DATABASE_URL": _nowhere(), "TESTING": True, "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "unavailable-test"}  # fmt: skip


def test_the_partner_api_says_503_with_retry_after(tmp_path, monkeypatch):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    client = redeemer.create_app(_config()).test_client()
    answer = client.post(
        "/api/v1/bookings",
        headers={"Authorization": "Bearer ycd_" + "x" * 43, "Idempotency-Key": "k1"},
        json={"credential": "YC1:x", "category": "trips", "amount_cents": 100},
    )
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert answer.json["code"] == "database_unavailable"
    assert answer.headers["Retry-After"] == "2"
    assert client.get("/healthz").status_code == 200  # the process itself is alive
    assert client.get("/readyz").status_code == 503


def test_a_staff_page_says_503_with_retry_after(tmp_path, monkeypatch):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    client = issuer.create_app({**_config(), "WTF_CSRF_ENABLED": False}).test_client()
    assert client.get("/login", base_url=HTTPS).status_code == 200  # needs no database
    form = {"username": "someone", "password": "long enough password"}
    answer = client.post("/login", base_url=HTTPS, data=form)
    assert answer.status_code == 503
    assert answer.mimetype == "text/html"
    assert answer.headers["Retry-After"] == "2"
    assert "<h1>" in answer.get_data(as_text=True)  # the app's own error page
