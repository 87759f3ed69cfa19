"""Sending a message again (youcard.messages): a failed one goes back to the outbox, to the
family's address as it is now (never to one marked undeliverable: a caseworker enters
another first), or to the partner's contact address as it is now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from youcard import audit
from youcard.db import Session
from youcard.domain.models import Household, OutboxMessage, Partner
from youcard.errors import Conflict, NotFound
from youcard.policy import RECORDERS, Staff, require_role


def _address_now(session: Session, message: OutboxMessage) -> tuple[str | None, object]:
    """Where the message goes now, and since when that address is undeliverable (if so)."""
    if message.partner_id is not None:
        partner = session.get(Partner, message.partner_id)
        return (None if partner is None else partner.contact_email), None
    household = session.get(Household, message.household_id) if message.household_id else None
    if household is None:
        return None, None
    if message.channel == "email":
        return household.email, household.email_undeliverable_at
    return household.phone, household.phone_undeliverable_at


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
    address, undeliverable = _address_now(session, message)
    if not address or undeliverable is not None:
        raise Conflict(
            "The family or partner cannot be reached this way: enter another address first.",
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
