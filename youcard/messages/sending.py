"""The `messages` job: send what waits in the outbox (e-mail, then SMS), a batch at a time,
on any number of nodes at once. A batch is claimed first (its rows marked taken for LEASE,
on PostgreSQL with SKIP LOCKED: two runners never take the same row) and committed; then
sent; then the batch is marked in one short transaction. A runner that dies between
sending and marking leaves the rows claimed: when the lease ends another runner sends them
again, with the same Message-ID (a receiver drops the copy). A temporary failure is tried
again later (back-off, at most MAX_ATTEMPTS times); a permanent one (5xx, a number no SMS
reaches) marks the household's address undeliverable, for the caseworker to ask for
another."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import sessionmaker

from youcard.db import Session
from youcard.domain.contacts import OfficeDetails
from youcard.domain.models import Household, Issuer, OutboxMessage
from youcard.messages.email import Mailer, Permanent
from youcard.messages.sms import Texter
from youcard.messages.texts import Rendered, render, render_sms

BATCH = 100  # messages claimed and sent over one connection
LEASE = timedelta(minutes=10)  # a claimed batch is another runner's again after this
MAX_ATTEMPTS = 8  # then the message is failed and shown to staff
FIRST_RETRY = timedelta(minutes=5)  # doubled after each failure, at most a day
log = logging.getLogger("youcard.messages")


def retry_after(attempts: int) -> timedelta:
    """How long a message waits after its `attempts`-th failed try."""
    wait: timedelta = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 10)
    return min(wait, timedelta(days=1))


def _claim(session: Session, channel: str, now: datetime) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "waiting",
            OutboxMessage.channel == channel,
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


def _office(session: Session, issuer_id: str) -> OfficeDetails:
    issuer = session.get(Issuer, issuer_id)
    return OfficeDetails.of(issuer) if issuer is not None else OfficeDetails()


def _rendered(session: Session, row: OutboxMessage) -> Rendered:
    return render(row.event, row.language, json.loads(row.facts), _office(session, row.issuer_id))


Deliver = Callable[[list[tuple[int, str, Any]]], list[Exception | None]]


def send_messages(
    sessions: sessionmaker[Session],
    now: Callable[[], datetime],
    env: Mapping[str, str] | None = None,
) -> int:
    """Send the waiting e-mails and SMS (a channel whose URL is unset: its messages wait):
    how many were sent."""
    env = os.environ if env is None else env
    sent = 0
    mailer = Mailer.from_env(env)
    if mailer is not None:

        def mails(batch: list[tuple[int, str, Any]]) -> list[Exception | None]:
            return mailer.send([mailer.message(i, to, rendered) for i, to, rendered in batch])

        sent += _send(sessions, now, "email", _rendered, mails)
    texter = Texter.from_env(env)
    if texter is not None:

        def texts(batch: list[tuple[int, str, Any]]) -> list[Exception | None]:
            return [texter.send(to, text) for _, to, text in batch]

        def sms(session: Session, row: OutboxMessage) -> str:
            return render_sms(row.language, _office(session, row.issuer_id))

        sent += _send(sessions, now, "sms", sms, texts)
    return sent


def _send(
    sessions: sessionmaker[Session],
    now: Callable[[], datetime],
    channel: str,
    content: Callable[[Session, OutboxMessage], Any],
    deliver: Deliver,
) -> int:
    """Claim, send and mark batches of `channel` until none waits: how many were sent."""
    sent = 0
    while True:
        with sessions.begin() as session:
            rows = _claim(session, channel, now())
            batch, attempts = [], {row.id: row.attempts for row in rows}
            for row in rows:
                try:
                    batch.append((row.id, row.address, content(session, row)))
                except (KeyError, ValueError, TypeError):  # no text (any more) for its event
                    log.warning("message %s cannot be written: marked failed", row.id)
                    row.status, row.claimed_until = "failed", None
                    row.last_error = "no text for this message"
        if not rows:
            return sent
        if not batch:
            continue
        results = deliver(batch)
        with sessions.begin() as session:  # one short transaction marks the whole batch
            delivered = [i for (i, *_), result in zip(batch, results, strict=True) if not result]
            if delivered:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(delivered))
                    .values(status="sent", sent_at=now(), last_error=None, claimed_until=None)
                )
            for (outbox_id, *_), result in zip(batch, results, strict=True):
                if result is not None:
                    _failed(session, outbox_id, attempts[outbox_id], result, now())
        sent += len(delivered)


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
            column, mark = (
                (Household.email, "email_undeliverable_at")
                if row.channel == "email"
                else (Household.phone, "phone_undeliverable_at")
            )
            session.execute(
                update(Household)
                .where(Household.id == row.household_id, column == row.address)
                .values({mark: now})
            )
        log.info("message %s: the address was refused for good", outbox_id)
