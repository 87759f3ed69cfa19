"""The `messages` job: send what waits in the outbox, a batch at a time, on any number of
nodes at once. A batch is claimed first (its rows marked taken for LEASE, on PostgreSQL
with SKIP LOCKED: two runners never take the same row) and committed; then sent; then the
batch is marked in one short transaction. A runner that dies between sending and marking
leaves the rows claimed: when the lease ends another runner sends them again, with the same
Message-ID (a receiver drops the copy). A temporary failure is tried again later (back-off,
at most MAX_ATTEMPTS times); a permanent one (5xx) marks the household's address
undeliverable, for the caseworker to ask for another."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import sessionmaker

from youcard.db import Session
from youcard.domain.contacts import OfficeDetails
from youcard.domain.models import Household, Issuer, OutboxMessage
from youcard.messages.email import Mailer, Permanent
from youcard.messages.texts import Rendered, render

BATCH = 100  # messages claimed and sent over one connection
LEASE = timedelta(minutes=10)  # a claimed batch is another runner's again after this
MAX_ATTEMPTS = 8  # then the message is failed and shown to staff
FIRST_RETRY = timedelta(minutes=5)  # doubled after each failure, at most a day
log = logging.getLogger("youcard.messages")


def retry_after(attempts: int) -> timedelta:
    """How long a message waits after its `attempts`-th failed try."""
    wait: timedelta = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 10)
    return min(wait, timedelta(days=1))


def _claim(session: Session, now: datetime) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "waiting",
            OutboxMessage.channel == "email",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.id)
        .limit(BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.claimed_until = now + LEASE
        row.attempts += 1
    return rows


def send_messages(
    sessions: sessionmaker[Session],
    now: Callable[[], datetime],
    env: Mapping[str, str] | None = None,
) -> int:
    """Send the waiting e-mails (none while YOUCARD_SMTP_URL is unset): how many were sent."""
    mailer = Mailer.from_env(os.environ if env is None else env)
    if mailer is None:
        return 0
    sent = 0
    while True:
        with sessions.begin() as session:
            rows = _claim(session, now())
            batch = [(row.id, row.address, row.attempts, _rendered(session, row)) for row in rows]
        if not batch:
            return sent
        results = mailer.send([mailer.message(i, to, rendered) for i, to, _, rendered in batch])
        with sessions.begin() as session:  # one short transaction marks the whole batch
            delivered = [i for (i, *_), result in zip(batch, results, strict=True) if not result]
            if delivered:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(delivered))
                    .values(status="sent", sent_at=now(), last_error=None, claimed_until=None)
                )
            for (outbox_id, _, attempts, _), result in zip(batch, results, strict=True):
                if result is not None:
                    _failed(session, outbox_id, attempts, result, now())
        sent += len(delivered)


def _rendered(session: Session, row: OutboxMessage) -> Rendered:
    issuer = session.get(Issuer, row.issuer_id)
    office = OfficeDetails.of(issuer) if issuer is not None else OfficeDetails()
    return render(row.event, row.language, json.loads(row.facts), office)


def _failed(
    session: Session, outbox_id: int, attempts: int, result: Exception, now: datetime
) -> None:
    values: dict[str, object] = {"claimed_until": None}
    if isinstance(result, Permanent) or attempts >= MAX_ATTEMPTS:
        values |= {"status": "failed", "last_error": str(result)[:300]}
    else:
        values |= {"next_attempt_at": now + retry_after(attempts), "last_error": str(result)}
    session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values))
    if isinstance(result, Permanent):
        row = session.get(OutboxMessage, outbox_id)
        if row is not None and row.household_id is not None:
            session.execute(
                update(Household)
                .where(Household.id == row.household_id, Household.email == row.address)
                .values(email_undeliverable_at=now)
            )
        log.info("message %s: the address was refused for good", outbox_id)
