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

import dataclasses
import functools
import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import sessionmaker

from youcard.config import load_settings
from youcard.credentials import keys
from youcard.db import Session
from youcard.documents.credit_notes import credit_note, credit_note_pdf, filename
from youcard.domain.access_codes import code_hash
from youcard.domain.contacts import OfficeDetails
from youcard.domain.models import Household, Issuer, OutboxMessage
from youcard.errors import NotFound
from youcard.messages.email import Mailer, Permanent
from youcard.messages.outbox import SEALED, drop_secret
from youcard.messages.sealed import unseal
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


def _attachments(session: Session, row: OutboxMessage, facts: dict[str, Any]) -> Any:
    if row.event != "credit_note_ready" or row.partner_id is None:
        return ()
    try:
        note = credit_note(session, partner_id=row.partner_id, payment_id=facts["payment_id"])
    except NotFound as gone:
        raise ValueError("the credit note is gone") from gone
    return ((filename(note), credit_note_pdf(session, note)),)


def _rendered(session: Session, row: OutboxMessage, code: str | None) -> Rendered:
    facts = json.loads(row.facts)
    facts.pop(SEALED, None)
    if code is not None:
        facts["code"] = code
    rendered = render(
        row.event,
        row.language,
        facts,
        _office(session, row.issuer_id),
        to_partner=row.household_id is None,  # a partner or an applicant
    )
    attached = _attachments(session, row, facts)
    return rendered if not attached else dataclasses.replace(rendered, attachments=attached)


def _sms(session: Session, row: OutboxMessage, code: str | None) -> str:
    return render_sms(row.language, _office(session, row.issuer_id), code)


Deliver = Callable[[list[tuple[int, str, Any]]], list[Exception | None]]
Content = Callable[[Session, OutboxMessage, "str | None"], Any]


def send_messages(
    sessions: sessionmaker[Session],
    now: Callable[[], datetime],
    env: Mapping[str, str] | None = None,
    kek: Callable[[], bytes] | None = None,
) -> int:
    """Send the waiting e-mails and SMS (a channel whose URL is unset: its messages wait):
    how many were sent. `kek`: the issuer's key-encryption key, which opens the access code
    an approval message carries (default: from the settings, when one is needed)."""
    env = os.environ if env is None else env
    if kek is None:
        kek = functools.cache(lambda: keys.load_kek(load_settings(env), dict(env)))
    sent = 0
    mailer = Mailer.from_env(env)
    if mailer is not None:

        def mails(batch: list[tuple[int, str, Any]]) -> list[Exception | None]:
            return mailer.send([mailer.message(i, to, rendered) for i, to, rendered in batch])

        sent += _send(sessions, now, "email", _Sender(_rendered, mails, kek))
    texter = Texter.from_env(env)
    if texter is not None:

        def texts(batch: list[tuple[int, str, Any]]) -> list[Exception | None]:
            return [texter.send(to, text) for _, to, text in batch]

        sent += _send(sessions, now, "sms", _Sender(_sms, texts, kek))
    return sent


@dataclasses.dataclass(frozen=True)
class _Sender:
    content: Content  # what goes to the row's address (its code opened)
    deliver: Deliver  # sends a batch: per row None or the failure
    kek: Callable[[], bytes]

    def code(self, row: OutboxMessage) -> str | None:
        """The secret the row carries (an access code, a one-time password), opened; None
        when it carries none."""
        sealed = json.loads(row.facts).get(SEALED) if SEALED in row.facts else None
        return None if sealed is None else unseal(self.kek(), sealed, event_key=row.event_key)


def _send(
    sessions: sessionmaker[Session],
    now: Callable[[], datetime],
    channel: str,
    sender: _Sender,
) -> int:
    """Claim, send and mark batches of `channel` until none waits: how many were sent."""
    sent = 0
    while True:
        with sessions.begin() as session:
            rows = _claim(session, channel, now())
            batch, attempts = [], {row.id: row.attempts for row in rows}
            codes: dict[int, tuple[int | None, str]] = {}
            for row in rows:
                try:
                    code = sender.code(row)
                    batch.append((row.id, row.address, sender.content(session, row, code)))
                except (KeyError, ValueError, TypeError):  # no text (any more) for its event
                    log.warning("message %s cannot be written: marked failed", row.id)
                    row.status, row.claimed_until = "failed", None
                    row.last_error = "no text for this message"
                    continue
                if code is not None:
                    codes[row.id] = (row.household_id, code)
        if not rows:
            return sent
        if not batch:
            continue
        results = sender.deliver(batch)
        with sessions.begin() as session:  # one short transaction marks the whole batch
            delivered = [i for (i, *_), result in zip(batch, results, strict=True) if not result]
            if delivered:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(delivered))
                    .values(status="sent", sent_at=now(), last_error=None, claimed_until=None)
                )
            for outbox_id in set(delivered) & codes.keys():
                _code_delivered(session, outbox_id, *codes[outbox_id], now())
            for (outbox_id, *_), result in zip(batch, results, strict=True):
                if result is not None:
                    _failed(session, outbox_id, attempts[outbox_id], result, now())
        sent += len(delivered)


def _code_delivered(
    session: Session, outbox_id: int, household_id: int | None, code: str, now: datetime
) -> None:
    """The access code a sent message carried reached the family: the household's code is
    delivered (unless it has been replaced since), and the row keeps no secret."""
    row = session.get(OutboxMessage, outbox_id)
    if row is not None:
        drop_secret(row)
    session.execute(
        update(Household)
        .where(
            Household.id == household_id,
            Household.access_code_hash == code_hash(code),
            Household.access_code_delivered_at.is_(None),
        )
        .values(access_code_delivered_at=now)
    )


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
