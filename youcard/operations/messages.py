"""Sending a message to a family again (youcard.messages): a failed one goes back to the
outbox, to the family's address as it is now; never to an address marked undeliverable
(a caseworker enters another first)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from youcard import audit
from youcard.db import Session
from youcard.domain.models import Household, OutboxMessage
from youcard.errors import Conflict, NotFound
from youcard.policy import RECORDERS, Staff, require_role


def resend_message(session: Session, *, by: Staff, message_id: int, now: datetime) -> OutboxMessage:
    """Put a failed message of `by`'s issuer back into the outbox (caseworkers and
    administrators); the next run of the messages job sends it."""
    require_role(by, RECORDERS, "send messages again")
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    ).one_or_none()
    if message is None or message.issuer_id != by.issuer_id:
        raise NotFound("No such message.", code="message_not_found")
    if message.status != "failed":
        raise Conflict("Only a message that was not delivered is sent again.", code="not_failed")
    household = session.get(Household, message.household_id) if message.household_id else None
    address, undeliverable = (
        (None, None)
        if household is None
        else (household.email, household.email_undeliverable_at)
        if message.channel == "email"
        else (household.phone, household.phone_undeliverable_at)
    )
    if not address or undeliverable is not None:
        raise Conflict(
            "The family cannot be reached this way: enter another address or number first.",
            code="address_undeliverable",
        )
    taken = session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.event_key == message.event_key,
            OutboxMessage.channel == message.channel,
            OutboxMessage.address == address,
            OutboxMessage.id != message.id,
        )
    )
    if taken is not None:
        raise Conflict("This message already went to that address.", code="already_sent")
    message.address = address
    message.status, message.attempts, message.last_error = "waiting", 0, None
    message.next_attempt_at, message.claimed_until = now, None
    audit.record(
        session,
        issuer_id=message.issuer_id,
        actor=by.actor,
        action="message.resend",
        object_type="message",
        object_id=message.id,
        now=now,
        data={"channel": message.channel, "event": message.event},
    )
    return message
