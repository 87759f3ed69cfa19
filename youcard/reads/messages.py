"""The outbox as staff see it (a read model): the issuer's messages to families and
partners, newest first, a page at a time, filtered by state and channel, with how many
there are in each state. Every staff role sees its own issuer's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from youcard.db import Session
from youcard.domain.models import Household, OutboxMessage, Partner
from youcard.policy import ALL_STAFF, Staff, require_role

STATES = ("waiting", "sent", "failed")
CHANNELS = ("email", "sms")


@dataclass(frozen=True)
class OutboxRow:
    message: OutboxMessage
    household_id: int | None
    reference: str  # the family's reference, or the partner's name ("" without either)
    partner_id: int | None = None


@dataclass(frozen=True)
class OutboxPage:
    rows: Sequence[OutboxRow]
    counts: dict[str, int]  # per state, this issuer's
    more: bool  # older messages follow (before the last row's id)


def outbox_page(
    session: Session,
    *,
    by: Staff,
    limit: int,
    state: str | None = None,
    channel: str | None = None,
    before: int | None = None,
) -> OutboxPage:
    """A page of `by`'s issuer's outbox (unknown filters are no filter)."""
    require_role(by, ALL_STAFF, "see the messages to families and partners")
    query = (
        select(OutboxMessage, Household.id, Household.reference, Partner.name)
        .outerjoin(Household, Household.id == OutboxMessage.household_id)
        .outerjoin(Partner, Partner.id == OutboxMessage.partner_id)
        .where(OutboxMessage.issuer_id == by.issuer_id)
    )
    if state in STATES:
        query = query.where(OutboxMessage.status == state)
    if channel in CHANNELS:
        query = query.where(OutboxMessage.channel == channel)
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    found = session.execute(query.order_by(OutboxMessage.id.desc()).limit(limit + 1)).all()
    counts = dict.fromkeys(STATES, 0)
    for status, count in session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.issuer_id == by.issuer_id)
        .group_by(OutboxMessage.status)
    ):
        counts[status] = int(count)
    rows = [
        OutboxRow(m, household_id, reference or partner or "", m.partner_id)
        for m, household_id, reference, partner in found
    ]
    return OutboxPage(rows[:limit], counts, len(rows) > limit)
