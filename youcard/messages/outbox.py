"""Writing a message to the outbox, in the unit of work of its cause: when the cause rolls
back, so does its message. A household without an address that works gets none (staff see
that on its page); one address gets one message per event, however often it is asked."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from youcard.db import DriverStatement, Session
from youcard.domain.models import Household, OutboxMessage, Partner
from youcard.messages.texts import BODIES, PARTNER_LANGUAGE

_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
# Messages a family may stop on its page; every other one the law needs it to get.
REMINDERS = frozenset({"money_expiring", "money_unused"})
SEALED = "sealed_code"  # the fact that holds a sealed secret (youcard.messages.sealed)
_COLUMNS = (
    "issuer_id",
    "household_id",
    "partner_id",
    "child_id",
    "event",
    "event_key",
    "channel",
    "address",
    "language",
    "facts",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
_UNIQUE = ["event_key", "channel", "address"]


@lru_cache(maxsize=8)
def _pg_write(count: int) -> DriverStatement:
    """One INSERT of `count` rows (a household's channels, a partner's old and new address):
    one statement and one round trip, cheaper than `count` statements in a pipeline."""
    return DriverStatement(
        postgresql.insert(_OUTBOX)
        .values([{column: bindparam(f"{column}_{n}") for column in _COLUMNS} for n in range(count)])
        .on_conflict_do_nothing(index_elements=_UNIQUE)
        .returning(_OUTBOX.c.id)
    )


_SQLITE_WRITE = (
    sqlite.insert(_OUTBOX).on_conflict_do_nothing(index_elements=_UNIQUE).returning(_OUTBOX.c.id)
)


def addresses(household: Household, event: str) -> list[tuple[str, str]]:
    """Where the message of `event` reaches `household`: (channel, address) for its e-mail
    address and its phone number, unless marked undeliverable or not chosen; none for an
    erased household, nor for a reminder the family stopped."""
    if household.erased_at is not None:
        return []
    if event in REMINDERS and household.reminders_off_at is not None:
        return []
    return [
        (channel, address)
        for channel, address, undeliverable in (
            ("email", household.email, household.email_undeliverable_at),
            ("sms", household.phone, household.phone_undeliverable_at),
        )
        if address and undeliverable is None and household.message_channel in ("both", channel)
    ]


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
    (`addresses`): `key` names this occurrence of the event (a second call with the same key
    queues nothing). How many were queued."""
    found = addresses(household, event)
    return _queue(
        session,
        event,
        key,
        facts,
        now,
        [(channel, address, household.language) for channel, address in found],
        issuer_id=household.issuer_id,
        household_id=household.id,
        child_id=child_id,
    )


def tell_partner(
    session: Session,
    partner: Partner,
    *,
    event: str,
    key: str,
    facts: dict[str, Any],
    now: datetime,
    to: Sequence[str | None] | None = None,
) -> int:
    """Queue the e-mail of `event` to the partner's contact address (or to each address of
    `to`: a change of contact tells the old address and the new). How many were queued."""
    found = {address for address in (to if to is not None else [partner.contact_email]) if address}
    return tell_addresses(
        session,
        issuer_id=partner.issuer_id,
        addresses=sorted(found),
        event=event,
        key=key,
        facts=facts,
        now=now,
        partner_id=partner.id,
    )


def tell_addresses(
    session: Session,
    *,
    issuer_id: str,
    addresses: Sequence[str],
    event: str,
    key: str,
    facts: dict[str, Any],
    now: datetime,
    partner_id: int | None = None,
) -> int:
    """Queue the e-mail of `event` to addresses that are no family's (a partner's, an
    applicant's), in German with English beside it."""
    return _queue(
        session,
        event,
        key,
        facts,
        now,
        [("email", address, PARTNER_LANGUAGE) for address in addresses],
        issuer_id=issuer_id,
        partner_id=partner_id,
    )


def _queue(
    session: Session,
    event: str,
    key: str,
    facts: dict[str, Any],
    now: datetime,
    recipients: list[tuple[str, str, str]],
    **owner: Any,
) -> int:
    if event not in BODIES:
        raise ValueError(f"no text for the event {event!r}")
    if not recipients:
        return 0
    text = json.dumps(facts, ensure_ascii=False, sort_keys=True)
    rows = [
        {
            **owner,
            "event": event,
            "event_key": key,
            "channel": channel,
            "address": address,
            "language": language,
            "facts": text,
            "status": "waiting",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for channel, address, language in recipients
    ]
    rows = [{column: row.get(column) for column in _COLUMNS} for row in rows]
    if session.get_bind().dialect.name == "postgresql":
        # The message rides with its cause's transaction at the cost of one round trip
        # and no more: straight on the driver, every channel's row in one INSERT
        # (bench/messages.py: an approval's time with and without its message).
        session.flush()  # what the rows refer to (a household made just now) goes first
        params = {f"{column}_{n}": row[column] for n, row in enumerate(rows) for column in row}
        return len(_pg_write(len(rows)).rows(session.connection(), params))
    return len(session.execute(_SQLITE_WRITE, rows).all())


def forget_sealed_codes(session: Session, household_id: int) -> None:
    """The household's code changed: a message not yet sent no longer carries the old one
    (it tells the family to sign in with the code it has)."""
    for row in session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.household_id == household_id,
            OutboxMessage.status != "sent",
            OutboxMessage.facts.contains(f'"{SEALED}"'),
        )
    ):
        drop_secret(row)


def drop_secret(row: OutboxMessage) -> None:
    """The row no longer carries its sealed secret (sent, or replaced)."""
    facts = json.loads(row.facts)
    facts.pop(SEALED, None)
    row.facts = json.dumps(facts, ensure_ascii=False, sort_keys=True)
