"""A booking made at a counter without signal, as it arrives (docs/offline.md).

It is judged on its time of service (`offline_at`): the card as it stood then (blocked
before: not covered; blocked after: it counts), the benefit on that day, the budget as it
is now. Covered, it is booked like any booking and recorded with its allowance; not covered
(spent online meanwhile, blocked before, above the allowance...), it is recorded as such,
never dropped: the partner sees it and the city's offline-risk report counts it. Sent
again with its idempotency key, it gets the same answer and changes nothing.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from youcard import credentials
from youcard.clock import berlin_date
from youcard.db import Session
from youcard.domain.enums import CardStatus, Category
from youcard.domain.models import Card, OfflineAllowance, OfflineBooking
from youcard.errors import (
    CategoryNotPermitted,
    Conflict,
    CredentialInvalid,
    DomainError,
    IdempotencyKeyReused,
    InvalidRequest,
)
from youcard.operations.booking.book import _book_asked
from youcard.operations.booking.records import BookingResult
from youcard.operations.booking.rules import BookingRequest, ask
from youcard.policy import Counter

CLOCK_TOLERANCE = timedelta(minutes=5)  # a counter's clock further off books nothing offline
LATE_AFTER = timedelta(hours=24)
# Refusals of an offline booking that record it as not covered: what the counter could not
# know offline. Any other refusal (a category the partner may not book, a wrong amount) is
# the counter's mistake: refused as online, nothing recorded.
NOT_COVERED = frozenset(
    {
        "insufficient_budget",
        "no_entitlement",
        "outside_period",
        "entitlement_inactive",
        "daily_limit_reached",
        "revoked",
        "above_allowance",
        "outside_allowance",
    }
)


class NotCovered(Conflict):
    """An offline booking the budget or the allowance does not cover (recorded)."""

    code = "not_covered"


def book_offline(
    session: Session,
    *,
    by: Counter,
    credential: object,
    trusted: credentials.TrustedKeys,
    category: Category | str,
    amount_cents: int,
    idempotency_key: str,
    offline_at: object,
    allowance_id: object,
    now: datetime,
    units: int | None = None,
    reference: str | None = None,
) -> BookingResult:
    """Book what a counter booked offline at `offline_at` under its allowance: the booking,
    or NotCovered (409, `reason`) whose follow-up records it once the request's writes are
    rolled back (youcard.web.followups). A credential that was not valid at the time of
    service, a foreign allowance or a time of service in the future: refused, nothing
    recorded (the counter verifies offline as the server does)."""
    if not isinstance(offline_at, datetime) or offline_at.tzinfo is None:
        raise InvalidRequest(
            "The time of service must be a date and time.", code="invalid_offline_at"
        )
    if offline_at > now + CLOCK_TOLERANCE:
        raise InvalidRequest("The time of service is in the future.", code="offline_at_in_future")
    allowance = _allowance(session, by, allowance_id)
    result = credentials.verify(credential, trusted=trusted, now=int(offline_at.timestamp()))
    if not result.valid or result.claims is None:
        raise CredentialInvalid("The card cannot be used.", reason=result.reason or "malformed")
    claims = result.claims
    service_date = berlin_date(offline_at)
    asked = ask(
        partner_id=by.partner_id,
        card_serial=claims.serial,
        card_issuer_id=claims.issuer,
        category=category,
        amount_cents=amount_cents,
        idempotency_key=idempotency_key,
        now=now,
        units=units,
        service_date=service_date,
        reference=reference,
        device_token_id=by.device_id,
        actor=by.actor,
        standing=True,  # judged on the day of service; the card's status: below
    )
    earlier = session.scalars(
        select(OfflineBooking).where(
            OfflineBooking.partner_id == by.partner_id,
            OfflineBooking.idempotency_key == asked.idempotency_key,
        )
    ).first()
    if earlier is not None:
        if earlier.request_hash != asked.fingerprint:
            raise IdempotencyKeyReused(
                "This idempotency key was already used for a different booking."
            )
        if earlier.outcome != "booked":
            raise _not_covered(earlier.reason or "not_covered")
        return _book_asked(session, asked)  # the booking's replay
    if (claims.issuer, asked.category) not in by.permissions:  # the counter's mistake
        raise CategoryNotPermitted("This partner may not book this category for this issuer.")
    card = session.execute(
        select(Card.id, Card.status, Card.revoked_at).where(
            Card.serial == claims.serial, Card.issuer_id == claims.issuer
        )
    ).one_or_none()
    if card is None:
        raise CredentialInvalid("This card is not known.", reason="revoked")
    record = functools.partial(
        _record,
        issuer_id=claims.issuer,
        partner_id=by.partner_id,
        allowance_id=allowance.id,
        card_id=card.id,
        category=asked.category,
        amount_cents=asked.amount_cents,
        units=asked.units,
        service_date=service_date,
        offline_at=offline_at,
        received_at=now,
        idempotency_key=asked.idempotency_key,
        request_hash=asked.fingerprint,
    )
    reason = _uncovered_before_booking(allowance, card, offline_at) or _above_allowance(
        session, allowance, card.id, asked, claims.issuer
    )
    if reason is not None:
        raise _not_covered(reason, record)
    try:
        booked = _book_asked(session, asked)
    except DomainError as refusal:
        code = refusal.reason if isinstance(refusal, CredentialInvalid) else refusal.code
        if code in NOT_COVERED:
            raise _not_covered(code, record) from refusal
        raise
    if not booked.replayed:  # (a twin request with the key booked first: it records)
        record(session, outcome="booked", booking_id=booked.booking.id)
    return booked


def _allowance(session: Session, by: Counter, allowance_id: object) -> OfflineAllowance:
    """The counter's own allowance (of its partner; of this device for a device token)."""
    allowance = (
        session.get(OfflineAllowance, allowance_id)
        if isinstance(allowance_id, str) and 0 < len(allowance_id) <= 32
        else None
    )
    if (
        allowance is None
        or allowance.partner_id != by.partner_id
        or (allowance.device_token_id is not None and allowance.device_token_id != by.device_id)
    ):
        raise InvalidRequest(
            "This counter has no such offline allowance.", code="invalid_allowance"
        )
    return allowance


def _uncovered_before_booking(
    allowance: OfflineAllowance, card: Any, offline_at: datetime
) -> str | None:
    """Why the booking is not covered whatever the budget: the card blocked before the time
    of service, or a time of service outside the allowance's 24 hours (which the counter
    should have refused: its clock or its allowance was off)."""
    if CardStatus(card.status) is not CardStatus.ACTIVE and (
        card.revoked_at is None or card.revoked_at <= offline_at
    ):
        return "revoked"
    if not allowance.issued_at - CLOCK_TOLERANCE <= offline_at <= allowance.valid_until:
        return "outside_allowance"
    return None


def _above_allowance(
    session: Session, allowance: OfflineAllowance, card_id: int, asked: BookingRequest, issuer: str
) -> str | None:
    """Whether this booking takes the counter above its allowance for the card, category and
    day (what this counter booked offline on it, under any of its allowances)."""
    limits: dict[str, dict[str, int]] = json.loads(allowance.limits)
    limit = limits.get(issuer, {}).get(asked.category.value, 0)
    booked = session.scalar(
        select(func.coalesce(func.sum(OfflineBooking.amount_cents), 0))
        .join(OfflineAllowance, OfflineAllowance.id == OfflineBooking.allowance_id)
        .where(
            OfflineAllowance.partner_id == allowance.partner_id,
            OfflineAllowance.device_key == allowance.device_key,
            OfflineBooking.card_id == card_id,
            OfflineBooking.category == asked.category,
            OfflineBooking.service_date == asked.service_date,
            OfflineBooking.outcome == "booked",
        )
    )
    return "above_allowance" if (booked or 0) + asked.amount_cents > limit else None


def _not_covered(reason: str, record: functools.partial[None] | None = None) -> NotCovered:
    """The refusal; with `record`, recording the booking as not covered after the rollback."""
    refusal = NotCovered(
        "The benefit does not cover this offline booking: it was recorded as not covered.",
        reason=reason,
    )
    if record is not None:
        refusal.follow_up = functools.partial(record, outcome="not_covered", reason=reason)
    return refusal


def _record(
    session: Session,
    *,
    outcome: str,
    offline_at: datetime,
    received_at: datetime,
    reason: str | None = None,
    booking_id: int | None = None,
    **fields: Any,
) -> None:
    """The offline booking as it arrived (`late`: a day or more after its time of service)."""
    session.add(
        OfflineBooking(
            outcome=outcome,
            reason=reason,
            booking_id=booking_id,
            offline_at=offline_at,
            received_at=received_at,
            late=received_at - offline_at > LATE_AFTER,
            **fields,
        )
    )
    session.flush()
