"""Messages to families on PostgreSQL, beside baselines in the same run:

1. 10,000 waiting e-mails rendered (Arabic, Turkish, German: German beside the others) and
   handed to a local SMTP server (aiosmtpd, a process of its own, as a city's server
   would be) by the `messages` job, against the ceiling: smtplib handing the same number
   of ready-made one-line mails to the same server.
2. What the outbox adds to its cause: blocking cards of families with an e-mail address
   and a phone number (two outbox rows each) against blocking cards of families without.
3. What the outbox adds to an approval: approving benefits of families with an e-mail
   address and a phone number and no access code yet (a code made, sealed, two outbox
   rows) against families without; as the operation alone and as the staff API's request
   (POST /api/v1/entitlements/<id>/approve, in-process test client).

Usage: .venv/bin/python bench/messages.py [--messages 10000] [--blocks 300] [--approvals 300]
docs/targets.md's targets: 10,000 messages under 60 s; the outbox adds at most 5 %.
"""

from __future__ import annotations

import argparse
import json
import os
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
from tests.factories import KEK, NOW, Factory  # noqa: E402
from tests.smtp_server import free_port  # noqa: E402
from youcard import migrate  # noqa: E402
from youcard.credentials import b64url  # noqa: E402
from youcard.db import make_engine, make_sessionmaker  # noqa: E402
from youcard.domain.enums import EntitlementStatus, Role  # noqa: E402
from youcard.domain.models import OutboxMessage  # noqa: E402
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


def blocking(sessions, blocks: int, reachable: bool) -> float:
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        by = Staff.of(make.staff(issuer, Role.APPROVER))
        cards = []
        for _ in range(blocks):
            household = make.household(issuer)
            if reachable:
                household.email, household.phone = "familie@example.org", "0170 1234567"
            cards.append(make.card(make.child(issuer, household=household)).id)
    started = time.perf_counter()
    for card_id in cards:
        with sessions.begin() as session:
            revoke_card(session, by=by, card_id=card_id, reason="verloren", now=NOW)
    return time.perf_counter() - started


def _recorded(
    sessions, count: int, reachable: bool, coded: bool = False
) -> tuple[list[int], Staff, str]:
    """`count` benefits waiting for approval, of families reachable or not (`coded`: that
    have their access code already); the approver and a staff API token of theirs."""
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
        return waiting, Staff.of(approver), token


def approving(sessions, count: int, reachable: bool, coded: bool = False) -> float:
    waiting, by, _ = _recorded(sessions, count, reachable, coded)
    started = time.perf_counter()
    for entitlement_id in waiting:
        with sessions.begin() as session:
            approve_entitlement(session, entitlement_id=entitlement_id, by=by, now=NOW, kek=KEK)
    return time.perf_counter() - started


def approving_by_api(sessions, client, count: int, reachable: bool, coded: bool = False) -> float:
    waiting, _, token = _recorded(sessions, count, reachable, coded)
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    for entitlement_id in waiting:
        answer = client.post(
            f"/api/v1/entitlements/{entitlement_id}/approve",
            json={},
            headers=headers,
            base_url="https://localhost",
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
    return time.perf_counter() - started


def _ratio(measure, label: str, count: int, what: str = "a code and two outbox rows") -> None:
    rounds, without = [], []
    for n in range(5):  # the sides take turns going first
        sides = [False, True] if n % 2 == 0 else [True, False]
        took = {side: measure(side) for side in sides}
        rounds.append(took[True] / took[False])
        without.append(took[False] / count * 1000)
    print(
        f"{label}, {count} a side ({sorted(without)[2]:.2f} ms each without): with {what} / "
        f"without median {sorted(rounds)[2]:.3f} (rounds {', '.join(f'{r:.3f}' for r in rounds)})"
        "   target: at most 1.05"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--blocks", type=int, default=300)
    parser.add_argument("--approvals", type=int, default=300)
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
        rounds = []
        for n in range(5):  # the sides take turns going first
            sides = [False, True] if n % 2 == 0 else [True, False]
            took = {side: blocking(sessions, args.blocks, reachable=side) for side in sides}
            rounds.append(took[True] / took[False])
        print(
            f"blocking a card, {args.blocks} a side: with two outbox rows / without "
            f"median {sorted(rounds)[2]:.3f} (rounds {', '.join(f'{r:.3f}' for r in rounds)})"
            "   target: at most 1.05"
        )
        _ratio(lambda side: approving(sessions, args.approvals, side), "approving (operation)",
               args.approvals)  # fmt: skip
        os.environ["YOUCARD_KEK"] = b64url(KEK)
        app = issuer.create_app({"DATABASE_URL": url, "CLOCK": lambda: NOW})
        client = app.test_client()
        _ratio(lambda side: approving_by_api(sessions, client, args.approvals, side),
               "approving (staff API request)", args.approvals)  # fmt: skip
        _ratio(lambda side: approving_by_api(sessions, client, args.approvals, side, side),
               "approving (staff API request)", args.approvals, "two outbox rows")  # fmt: skip
    finally:
        engine.dispose()
        drop_postgres_database(ADMIN_URL, url)


if __name__ == "__main__":
    main()
