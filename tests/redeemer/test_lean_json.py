"""The hot path's lean JSON (youcard.web.lean_json) answers exactly as flask-smorest's
decorated views do: the same status, headers and bytes for every body, in order or not, and
it is the way taken for a request in order (#15, the hot path's one owner)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redeemer.api import blp
from youcard.web import lean_json

VOLATILE = {"X-Request-Id", "Idempotent-Replayed"}


@pytest.fixture
def smorest_way(monkeypatch):
    """Switch the lean way off (every request then goes the decorated way), and on again."""

    def switch(on: bool) -> None:
        if on:
            monkeypatch.setattr(lean_json, "_loaded_json", lambda schema: None)
        else:
            monkeypatch.undo()

    return switch


@pytest.fixture
def parses(monkeypatch):
    """How often webargs parsed a body (the decorated way)."""
    calls: list[int] = []
    parser = blp.ARGUMENTS_PARSER
    real = parser.parse

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(parser, "parse", counting)
    return calls


def _answer(response) -> tuple[int, str | None, dict[str, Any], bytes]:
    data = response.get_data()
    if response.mimetype.endswith("json") and data:
        body = json.loads(data)
        if isinstance(body, dict):
            body.pop("request_id", None)  # each request's own
            data = json.dumps(body, sort_keys=True).encode()
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
    return response.status_code, response.mimetype, headers, data


def _send(client, path: str, raw: bytes, content_type: str | None, headers: dict[str, str]):
    if content_type is not None:
        headers = {**headers, "Content-Type": content_type}
    return client.post(path, data=raw, headers=headers)


def _both_ways(client, smorest_way, path, raw, content_type, headers):
    """The answers of the lean way and then of the decorated way to the same request (a
    booking sent twice with one key: the second is the first's replay, answered the same)."""
    lean = _send(client, path, raw, content_type, headers)
    smorest_way(True)
    try:
        decorated = _send(client, path, raw, content_type, headers)
    finally:
        smorest_way(False)
    return lean, decorated


def test_a_request_in_order_goes_the_lean_way(client, world, parses):
    w = world()
    booked = client.post(
        "/api/v1/bookings",
        json={"credential": w.credential, "category": "participation", "amount_cents": 100},
        headers={**w.auth, "Idempotency-Key": "lean-1"},
    )
    assert booked.status_code == 201 and booked.json["amount_cents"] == 100
    verified = client.post("/api/v1/verify", json={"credential": w.credential}, headers=w.auth)
    assert verified.status_code == 200 and verified.json["valid"] is True
    assert parses == []  # webargs never ran
    refused = client.post(
        "/api/v1/bookings",
        json={"credential": w.credential, "category": "participation", "amount_cents": "1"},
        headers={**w.auth, "Idempotency-Key": "lean-2"},
    )
    assert refused.status_code == 422 and parses == [1]  # a body not in order: webargs' way


BODIES: list[tuple[str, Any, str | None]] = [
    # (what, body: a dict with "{credential}" filled in, or raw bytes; content type)
    ("in order", {"category": "participation", "amount_cents": 100}, "application/json"),
    ("all fields", {"category": "participation", "amount_cents": 100,
                    "service_date": "2026-03-02", "reference": "Kurs 7"}, "application/json"),
    ("+json type", {"category": "participation", "amount_cents": 100},
     "application/merge-patch+json"),
    ("charset", {"category": "participation", "amount_cents": 100},
     "application/json; charset=utf-8"),
    ("over budget", {"category": "participation", "amount_cents": 10**6}, "application/json"),
    ("amount as text", {"category": "participation", "amount_cents": "100"}, "application/json"),
    ("amount true", {"category": "participation", "amount_cents": True}, "application/json"),
    ("amount negative", {"category": "participation", "amount_cents": -5}, "application/json"),
    ("unknown field", {"category": "participation", "amount_cents": 1, "x": 1},
     "application/json"),
    ("unknown category", {"category": "golf", "amount_cents": 1}, "application/json"),
    ("no category", {"amount_cents": 1}, "application/json"),
    ("units", {"category": "participation", "amount_cents": 1, "units": 2}, "application/json"),
    ("bad date", {"category": "participation", "amount_cents": 1, "service_date": "2026-02-30"},
     "application/json"),
    ("control character", {"category": "participation", "amount_cents": 1,
                           "reference": "a\u0007b"}, "application/json"),
    ("text type", {"category": "participation", "amount_cents": 100}, "text/plain"),
    ("no type", {"category": "participation", "amount_cents": 100}, None),
    ("a list", b"[1, 2]", "application/json"),
    ("a number", b"7", "application/json"),
    ("null", b"null", "application/json"),
    ("empty", b"", "application/json"),
    ("broken", b'{"category": ', "application/json"),
    ("not UTF-8", b'{"category": "\xff"}', "application/json"),
    ("UTF-16", '{"amount_cents": 1}'.encode("utf-16"), "application/json"),
    ("deep", b"[" * 5000 + b"]" * 5000, "application/json"),
]  # fmt: skip


def _raw(body: Any, credential: str, *, credential_field: bool = True) -> bytes:
    if isinstance(body, bytes):
        return body
    return json.dumps({"credential": credential, **body} if credential_field else body).encode()


@pytest.mark.parametrize(("what", "body", "content_type"), BODIES, ids=[b[0] for b in BODIES])
def test_bookings_answer_alike_both_ways(client, world, smorest_way, what, body, content_type):
    w = world()
    raw = _raw(body, w.credential)
    headers = {**w.auth, "Idempotency-Key": "alike-" + what}
    lean, decorated = _both_ways(client, smorest_way, "/api/v1/bookings", raw, content_type,
                                 headers)  # fmt: skip
    assert _answer(lean) == _answer(decorated)
    if what in ("in order", "all fields", "+json type", "charset"):
        assert lean.status_code == 201 and lean.headers["Idempotent-Replayed"] == "false"
        assert decorated.headers["Idempotent-Replayed"] == "true"  # the same booking, once
    else:
        assert lean.status_code >= 400


@pytest.mark.parametrize(
    "body",
    [{"credential": "{credential}"}, {"credential": "HC1:nonsense"}, {"credential": 7},
     {"credential": "{credential}", "extra": True}, {}, b"[]", b"{"],
)  # fmt: skip
def test_verify_answers_alike_both_ways(client, world, smorest_way, body):
    w = world()
    raw = body if isinstance(body, bytes) else json.dumps(body).replace(
        "{credential}", w.credential).encode()  # fmt: skip
    lean, decorated = _both_ways(client, smorest_way, "/api/v1/verify", raw,
                                 "application/json", w.auth)  # fmt: skip
    assert _answer(lean) == _answer(decorated)


_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=12), st.sampled_from(["participation", "lunch", "2026-03-02", ""]),
    st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.text(max_size=3), st.none()),
)  # fmt: skip
_bodies = st.dictionaries(
    st.sampled_from(["category", "amount_cents", "units", "service_date", "reference", "zzz"]),
    _values,
    max_size=6,
)


@pytest.fixture
def one_world(world):
    """One world for all examples of a property test."""
    return world()


_keys = itertools.count()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_bodies, shown=st.booleans())
def test_any_booking_body_is_answered_alike_both_ways(client, one_world, smorest_way, body, shown):
    w = one_world
    raw = _raw(body, w.credential, credential_field=shown)
    headers = {**w.auth, "Idempotency-Key": f"any-{next(_keys)}"}
    lean, decorated = _both_ways(client, smorest_way, "/api/v1/bookings", raw,
                                 "application/json", headers)  # fmt: skip
    assert _answer(lean) == _answer(decorated)
