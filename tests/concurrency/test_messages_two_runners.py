"""#29: 10,000 waiting messages sent by two job runners at once (two processes, PostgreSQL):
every one reaches the SMTP server, none twice (SKIP LOCKED claims)."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, insert, select

from tests.factories import NOW, Factory
from youcard.db import make_engine, make_sessionmaker
from youcard.domain.models import OutboxMessage
from youcard.jobs.runner import run_in_processes

MESSAGES = 10_000


def test_two_runners_send_ten_thousand_messages_none_twice(
    private_database_url,
    smtp,
    monkeypatch,
    capsys,
):
    if not private_database_url.startswith("postgresql"):
        pytest.skip("runners in parallel processes are a PostgreSQL matter (SQLite: one writer)")
    inbox, env = smtp
    engine = make_engine(private_database_url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        household = make.household(issuer)
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "issuer_id": issuer.id, "household_id": household.id, "event": "card_blocked",
                    "event_key": f"card_blocked:{n}", "channel": "email",
                    "address": f"familie{n}@example.org", "language": ("de", "ar", "tr")[n % 3],
                    "facts": json.dumps({"child": f"Kind {n}"}), "status": "waiting",
                    "attempts": 0, "next_attempt_at": NOW, "created_at": NOW,
                }
                for n in range(MESSAGES)
            ],
        )  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the runners' processes read them
    started = time.perf_counter()
    done = run_in_processes(private_database_url, ["messages"], 2)
    seconds = time.perf_counter() - started
    ids = inbox.ids()
    assert done == {"messages": MESSAGES}
    assert len(ids) == MESSAGES and len(set(ids)) == MESSAGES  # every one, none twice
    with sessions() as session:
        waiting = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
        )
    assert waiting == 0
    engine.dispose()
    with capsys.disabled():
        print(f"\n10,000 messages by two runners: {seconds:.1f} s ({MESSAGES / seconds:,.0f}/s)")
