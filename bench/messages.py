"""Messages to families on PostgreSQL, beside baselines in the same run:

1. 10,000 waiting e-mails rendered (Arabic, Turkish, German: German beside the others) and
   handed to a local SMTP server (aiosmtpd, a process of its own, as a city's server
   would be) by the `messages` job, against the ceiling: smtplib handing the same number
   of ready-made one-line mails to the same server.
2. What the outbox adds to its cause: blocking cards of families with an e-mail address
   and a phone number (two outbox rows each) against blocking cards of families without,
   the two sides in turns, act by act (the machine's drift falls on both alike).
3. What the outbox adds to an approval: approving benefits of families with an e-mail
   address and a phone number and no access code yet (a code made, sealed, two outbox
   rows) against families without; as the operation alone and as the staff API's request
   (POST /api/v1/entitlements/<id>/approve, in-process test client).

Usage: .venv/bin/python bench/messages.py [--messages 10000] [--blocks 1000] [--approvals 1000]
docs/targets.md's targets: 10,000 messages under 60 s; the outbox adds at most 5 %.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

import issuer  # noqa: E402
from bench.redeem import ADMIN_URL  # noqa: E402
from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.factories import KEK, NOW, PASSWORD, Factory  # noqa: E402
from tests.smtp_server import free_port  # noqa: E402
from youcard import migrate  # noqa: E402
from youcard.credentials import b64url  # noqa: E402
from youcard.db import make_engine, make_sessionmaker  # noqa: E402
from youcard.domain.enums import EntitlementStatus, Role  # noqa: E402
from youcard.domain.models import OutboxMessage, StaffUser  # noqa: E402
from youcard.messages.sending import send_messages  # noqa: E402
from youcard.operations.cards import revoke_card  # noqa: E402
from youcard.operations.entitlements import approve_entitlement  # noqa: E402
from youcard.operations.staff_tokens import create_staff_token  # noqa: E402
from youcard.policy import Staff  # noqa: E402


def smtp_process() -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """aiosmtpd in its own process, taking and dropping every mail."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Sink",
            "-l",
            f"127.0.0.1:{port}",
        ]
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return process, {"YOUCARD_SMTP_URL": f"smtp://127.0.0.1:{port}"}


def sending(sessions, env, messages: int) -> tuple[float, float]:
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        issuer.office_name, issuer.family_url = "Bürgeramt Mitte", "https://youcard.example/family"
        household = make.household(issuer)
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "issuer_id": issuer.id,
                    "household_id": household.id,
                    "event": "card_blocked",
                    "event_key": f"bench:{n}",
                    "channel": "email",
                    "address": f"familie{n}@example.org",
                    "language": ("ar", "tr", "de")[n % 3],
                    "facts": json.dumps({"child": "Elif"}),
                    "status": "waiting",
                    "attempts": 0,
                    "next_attempt_at": NOW,
                    "created_at": NOW,
                }
                for n in range(messages)
            ],
        )
    started = time.perf_counter()
    sent = send_messages(sessions, lambda: NOW, env)
    job = time.perf_counter() - started
    assert sent == messages, sent
    host, port = env["YOUCARD_SMTP_URL"].removeprefix("smtp://").split(":")
    started = time.perf_counter()
    with smtplib.SMTP(host, int(port)) as server:
        for n in range(messages):
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = "a@example.org", f"b{n}@example.org", "x"
            mail.set_content("x")
            server.send_message(mail)
    return job, time.perf_counter() - started


def _paired(sessions, count: int, make_side, act) -> tuple[list[float], list[float]]:
    """Each side's `count` causes (made by `make_side(reachable)`), acted on in turns, one
    with messages and one without, the first of each pair alternating: the machine's drift
    (a factor of 4 within an hour here) falls on both sides alike. Each act's seconds."""
    sides = {side: make_side(side) for side in (True, False)}
    took: dict[bool, list[float]] = {True: [], False: []}
    for n in range(count):
        for side in (True, False) if n % 2 == 0 else (False, True):
            started = time.perf_counter()
            act(sides[side][0], sides[side][1][n])
            took[side].append(time.perf_counter() - started)
    return took[True], took[False]


def _cards(sessions, count: int, reachable: bool) -> tuple[Staff, list[int]]:
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        by = Staff.of(make.staff(issuer, Role.APPROVER))
        cards = []
        for _ in range(count):
            household = make.household(issuer)
            if reachable:
                household.email, household.phone = "familie@example.org", "0170 1234567"
            cards.append(make.card(make.child(issuer, household=household)).id)
    return by, cards


def blocking(sessions, count: int) -> tuple[list[float], list[float]]:
    def act(by: Staff, card_id: int) -> None:
        with sessions.begin() as session:
            revoke_card(session, by=by, card_id=card_id, reason="verloren", now=NOW)

    return _paired(sessions, count, lambda side: _cards(sessions, count, side), act)


def _recorded(
    sessions, count: int, reachable: bool, coded: bool = False
) -> tuple[Staff, str, list[int]]:
    """`count` benefits waiting for approval, of families reachable or not (`coded`: that
    have their access code already); the approver, a staff API token of theirs, the ids."""
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        approver = make.staff(issuer, Role.APPROVER)
        token = create_staff_token(
            session,
            by=Staff.system(issuer.id, "bench"),
            username=approver.username,
            name="bench",
            now=NOW,
        ).token
        waiting = []
        for _ in range(count):
            household = make.household(issuer)
            if reachable:
                household.email, household.phone = "familie@example.org", "0170 1234567"
            if coded:
                household.access_code_hash = secrets.token_hex(32)
                household.access_code_delivered_at = NOW
            child = make.child(issuer, household=household)
            waiting.append(make.entitlement(child, status=EntitlementStatus.RECORDED).id)
        return Staff.of(approver), token, waiting


def approving(sessions, count: int) -> tuple[list[float], list[float]]:
    def act(made: tuple[Staff, str], entitlement_id: int) -> None:
        with sessions.begin() as session:
            approve_entitlement(
                session, entitlement_id=entitlement_id, by=made[0], now=NOW, kek=KEK
            )

    def make_side(side: bool):
        by, token, waiting = _recorded(sessions, count, side)
        return (by, token), waiting

    return _paired(sessions, count, make_side, act)


def approving_by_api(sessions, client, count: int, coded: bool) -> tuple[list[float], list[float]]:
    """`coded`: the families with messages have their access code already (no code made)."""

    def act(made: tuple[Staff, str], entitlement_id: int) -> None:
        answer = client.post(
            f"/api/v1/entitlements/{entitlement_id}/approve",
            json={},
            headers={"Authorization": f"Bearer {made[1]}"},
            base_url="https://localhost",
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)

    def make_side(side: bool):
        by, token, waiting = _recorded(sessions, count, side, coded and side)
        return (by, token), waiting

    return _paired(sessions, count, make_side, act)


def approving_by_page(sessions, app, count: int, coded: bool) -> tuple[list[float], list[float]]:
    """The approver's click on the approval queue: the form's POST and the queue it leads
    back to (the 303's GET), signed in, with the CSRF token, as a browser sends it."""
    clients = {}

    def act(made: tuple[Staff, str], entitlement_id: int) -> None:
        client = clients[made[1]]
        answer = client.post(
            f"/entitlements/{entitlement_id}/approve",
            data={"back": "approvals", "csrf_token": client.csrf},
            base_url="https://localhost",
            headers={"Referer": "https://localhost/approvals"},
            follow_redirects=True,
        )
        assert answer.status_code == 200 and answer.request.path == "/approvals", answer.status

    def make_side(side: bool):
        by, token, waiting = _recorded(sessions, count, side, coded and side)
        client = app.test_client()
        with sessions() as session:
            username = session.get(StaffUser, by.person).username
        page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1)
        signed_in = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf},
            base_url="https://localhost",
            headers={"Referer": "https://localhost/login"},
        )
        assert signed_in.status_code in (302, 303), signed_in.status_code
        page = client.get("/approvals", base_url="https://localhost").get_data(as_text=True)
        client.csrf = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1)
        clients[token] = client
        return (by, token), waiting

    return _paired(sessions, count, make_side, act)


def _ratio(took: tuple[list[float], list[float]], label: str, what: str) -> None:
    """The median act with messages against the median without, and the same for the
    means of the middle 90 % (a spike of the machine on one act moves neither much)."""
    with_, without = (sorted(side) for side in took)
    cut = len(without) // 20

    def middle(values: list[float]) -> float:
        kept = values[cut : len(values) - cut]
        return sum(kept) / len(kept)

    median = with_[len(with_) // 2] / without[len(without) // 2]
    print(
        f"{label}, {len(without)} pairs ({without[len(without) // 2] * 1000:.2f} ms each "
        f"without): with {what} / without: medians {median:.3f}, "
        f"middle 90 % means {middle(with_) / middle(without):.3f}   target: at most 1.05"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--blocks", type=int, default=1000)
    parser.add_argument("--approvals", type=int, default=1000)
    args = parser.parse_args()
    url = create_postgres_database(ADMIN_URL)
    engine = make_engine(url)
    try:
        migrate.upgrade(url)
        sessions = make_sessionmaker(engine)
        server, env = smtp_process()
        try:
            job, raw = sending(sessions, env, args.messages)
        finally:
            server.terminate()
            server.wait(10)
        print(
            f"{args.messages:,} e-mails   messages job {job:6.1f} s ({args.messages / job:,.0f}/s)"
            f"   smtplib alone {raw:6.1f} s   job/raw {job / raw:.2f}   target: under 60 s"
        )
        _ratio(blocking(sessions, args.blocks), "blocking a card", "two outbox rows")
        _ratio(approving(sessions, args.approvals), "approving (operation)",
               "a code and two outbox rows")  # fmt: skip
        os.environ["YOUCARD_KEK"] = b64url(KEK)
        app = issuer.create_app({"DATABASE_URL": url, "CLOCK": lambda: NOW})
        client = app.test_client()
        logging.disable(logging.INFO)  # the request log's line per approval
        _ratio(approving_by_api(sessions, client, args.approvals, coded=False),
               "approving (staff API request)", "a code and two outbox rows")  # fmt: skip
        _ratio(approving_by_api(sessions, client, args.approvals, coded=True),
               "approving (staff API request)", "two outbox rows")  # fmt: skip
        _ratio(approving_by_page(sessions, app, args.approvals, coded=False),
               "approving (page: POST and the queue)", "a code and two outbox rows")  # fmt: skip
        _ratio(approving_by_page(sessions, app, args.approvals, coded=True),
               "approving (page: POST and the queue)", "two outbox rows")  # fmt: skip
    finally:
        engine.dispose()
        drop_postgres_database(ADMIN_URL, url)


if __name__ == "__main__":
    main()
