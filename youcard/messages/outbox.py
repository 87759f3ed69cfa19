"""Writing a message to the outbox, in the unit of work of its cause: when the cause rolls
back, so does its message. A household without an address that works gets none (staff see
that on its page); one address gets one message per event, however often it is asked."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from youcard.db import Session, upsert
from youcard.domain.models import Household, OutboxMessage
from youcard.messages.texts import BODIES

_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
# Messages a family may stop on its page; every other one the law needs it to get.
REMINDERS = frozenset({"money_expiring", "money_unused"})


def euros(cents: int) -> str:
    """An amount as the messages write it: 1.234,50 €."""
    return f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d} €"


def tell_household(
    session: Session,
    household: Household,
    *,
    event: str,
    key: str,
    facts: dict[str, Any],
    now: datetime,
    child_id: int | None = None,
) -> int:
    """Queue the message of `event` for `household` on each channel it can be reached by
    (its e-mail address and its phone number, unless marked undeliverable): `key` names
    this occurrence of the event (a second call with the same key queues nothing). How
    many were queued."""
    if event not in BODIES:
        raise ValueError(f"no text for the event {event!r}")
    if household.erased_at is not None:
        return 0
    if event in REMINDERS and household.reminders_off_at is not None:
        return 0
    rows = [
        {
            "issuer_id": household.issuer_id,
            "household_id": household.id,
            "child_id": child_id,
            "event": event,
            "event_key": key,
            "channel": channel,
            "address": address,
            "language": household.language,
            "facts": json.dumps(facts, ensure_ascii=False, sort_keys=True),
            "status": "waiting",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for channel, address, undeliverable in (
            ("email", household.email, household.email_undeliverable_at),
            ("sms", household.phone, household.phone_undeliverable_at),
        )
        if address and undeliverable is None and household.message_channel in ("both", channel)
    ]
    if not rows:
        return 0
    written = session.execute(  # one statement for every channel
        upsert(session, _OUTBOX)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["event_key", "channel", "address"])
        .returning(_OUTBOX.c.id)
    )
    return len(written.all())
