"""The booking ledger: book against the card whose credential was shown, exactly once per
idempotency key; never overspend (the write: youcard.operations.booking.write).

A retried request is recognised by the unique (partner, idempotency key) and answered with
the first booking. Cancelling: youcard.operations.booking.cancel.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from youcard import credentials
from youcard.credentials import Claims
from youcard.db import Session
from youcard.domain.enums import Category
from youcard.domain.models import Card
from youcard.errors import CredentialInvalid, DomainError
from youcard.messages import events as messages
from youcard.operations.booking.context import ContextKey, read_context, read_contexts
from youcard.operations.booking.records import BookingResult
from youcard.operations.booking.rules import BookingRequest, Plan, ask, decide, finish
from youcard.operations.booking.write import write_booking, write_bookings
from youcard.policy import Counter


def _book_asked(session: Session, r: BookingRequest) -> BookingResult:
    """Book what `r` asks for (`amount_cents`, and `units`, for the card's child in its
    category), exactly once per key: the context read, the rules (booking_rules.decide), the
    write, the result.

    Private: only `book`, which verified the shown credential, and the batch of bookings
    under mandates (whose card was shown when the mandate was made) pass a card's serial
    here. `card_issuer_id` is the issuer the credential named: a card of another issuer is
    refused (one issuer's key cannot book another's cards).

    Raises a DomainError (with the API's code) and writes nothing when the booking is not
    allowed; the caller rolls the transaction back."""
    context = read_context(
        session,
        partner_id=r.partner_id,
        card_serial=r.card_serial,
        category=r.category,
        key=r.idempotency_key,
        device_token_id=r.device_token_id,
    )
    decided = decide(session, r, context)
    if isinstance(decided, BookingResult):
        return decided
    return finish(session, decided, write_booking(session, decided.write))


def shown_card(credential: object, *, trusted: credentials.TrustedKeys, now: datetime) -> Claims:
    """The claims of the credential a partner shows, if verify accepts it: every refusal of
    verify (`expired` included) refuses the booking, with verify's reason. Revocation is the
    ledger's to check (the card's status, read with the booking)."""
    result = credentials.verify(credential, trusted=trusted, now=int(now.timestamp()))
    if not result.valid or result.claims is None:
        raise CredentialInvalid("The card cannot be used.", reason=result.reason or "malformed")
    return result.claims


def book(
    session: Session,
    *,
    by: Counter,
    credential: object,
    trusted: credentials.TrustedKeys,
    category: Category | str,
    amount_cents: int,
    idempotency_key: str,
    now: datetime,
    units: int | None = None,
    service_date: date | None = None,
    reference: str | None = None,
) -> BookingResult:
    """Book `amount_cents` (and `units`) for the child whose card's credential was shown, in
    `category`, exactly once per idempotency key (docs/partner-api.md: no booking by serial alone).

    The credential is verified here first, against `trusted` (every refusal of verify,
    `expired` included, refuses the booking); then the ledger checks the card's status, the
    partner, the category, the period and the budget, and writes all or nothing. Raises a
    DomainError with the API's code and writes nothing when the booking is not allowed; the
    caller rolls the transaction back. The booking is the partner's, names the device it came
    from and, in the audit log, whoever booked (the device or the partner's staff member)."""
    claims = shown_card(credential, trusted=trusted, now=now)
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
    )
    try:
        return _book_asked(session, asked)
    except DomainError as refusal:
        reason = refusal.reason if isinstance(refusal, CredentialInvalid) else refusal.code
        if reason in TOLD_TO_FAMILIES:
            refusal.follow_up = functools.partial(
                _tell_refused,
                serial=claims.serial,
                issuer_id=claims.issuer,
                partner_id=by.partner_id,
                category=asked.category.value,
                reason=reason,
                now=now,
            )
        raise


# Refusals at the counter the family hears of (once per card, reason and day): what it can
# act on. Not: a blocked card (told when it was blocked), a partner's or a typing mistake.
TOLD_TO_FAMILIES = frozenset(
    {
        "insufficient_budget",
        "no_entitlement",
        "outside_period",
        "entitlement_inactive",
        "daily_limit_reached",
        "expired",
    }
)


def _tell_refused(
    session: Session,
    *,
    serial: bytes,
    issuer_id: str,
    partner_id: int,
    category: str,
    reason: str,
    now: datetime,
) -> None:
    """After the refused booking's rollback (youcard.web.followups): tell the family."""
    card_id = session.scalar(
        select(Card.id).where(Card.serial == serial, Card.issuer_id == issuer_id)
    )
    if card_id is not None:
        messages.booking_refused(
            session,
            card_id=card_id,
            partner_id=partner_id,
            category=category,
            reason=reason,
            now=now,
        )


@dataclass(frozen=True)
class Standing:
    """One booking under a mandate (`book_standing_many`): the card was shown when the
    mandate was made (its serial and issuer), so no credential now."""

    by: Counter  # the partner the mandate books for (or its staff or device, for a list)
    card_serial: bytes
    card_issuer_id: str
    category: Category | str
    amount_cents: int
    idempotency_key: str
    service_date: date
    reference: str | None = None
    units: int | None = None


def book_standing_many(
    session: Session, bookings: Sequence[Standing], *, now: datetime
) -> list[BookingResult | DomainError]:
    """Book under mandates, each booking of the batch one after the other in order, with
    every guard of an ordinary booking but the card's own status and validity (a lost card
    does not end a mandate: budgets belong to entitlements), judged on the service date (an
    instalment booked by a late run counts in its own month): one result or refusal per
    booking. The reads of the whole batch are one
    round trip and so are the writes (on PostgreSQL: a pipeline each), where a booking at a
    time took two each (bench/mandates.py). A refused booking writes nothing; any other
    error ends the transaction, as for one booking. A key a booking earlier in the batch
    had: booked after the others, one at a time (a replay of the first, as if sent again)."""
    results: list[BookingResult | DomainError | None] = [None] * len(bookings)
    asked: dict[int, BookingRequest] = {}
    again: dict[int, BookingRequest] = {}
    keys_seen: set[tuple[int, str]] = set()
    for i, b in enumerate(bookings):
        try:
            r = ask(
                partner_id=b.by.partner_id,
                card_serial=b.card_serial,
                card_issuer_id=b.card_issuer_id,
                category=b.category,
                amount_cents=b.amount_cents,
                idempotency_key=b.idempotency_key,
                service_date=b.service_date,
                reference=b.reference,
                units=b.units,
                actor=b.by.actor,
                now=now,
                standing=True,
            )
        except DomainError as refusal:
            results[i] = refusal
            continue
        key = (r.partner_id, r.idempotency_key)
        (again if key in keys_seen else asked)[i] = r
        keys_seen.add(key)
    keys = [
        ContextKey(r.partner_id, r.card_serial, r.category, r.idempotency_key)
        for r in asked.values()
    ]
    plans: dict[int, Plan] = {}
    for (i, r), context in zip(asked.items(), read_contexts(session, keys), strict=True):
        try:
            decided = decide(session, r, context)
        except DomainError as refusal:
            results[i] = refusal
            continue
        if isinstance(decided, BookingResult):
            results[i] = decided
        else:
            plans[i] = decided
    written = write_bookings(session, [plan.write for plan in plans.values()])
    for (i, plan), did in zip(plans.items(), written, strict=True):
        try:
            results[i] = finish(session, plan, did)
        except DomainError as refusal:
            results[i] = refusal
    for i, r in again.items():
        try:
            results[i] = _book_asked(session, r)
        except DomainError as refusal:
            results[i] = refusal
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]
