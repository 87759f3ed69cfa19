"""The booking ledger: book against the card whose credential was shown, exactly once per
idempotency key; never overspend (the write: youcard.operations.booking_write).

A retried request is recognised by the unique (partner, idempotency key) and answered with
the first booking. Cancelling: youcard.operations.cancellations.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Table, select

from youcard import audit, budget, credentials
from youcard.clock import berlin_date
from youcard.credentials import Claims
from youcard.db import Session
from youcard.enums import (
    CardStatus,
    Category,
    EntitlementStatus,
    PartnerStatus,
    RuleKind,
)
from youcard.errors import (
    CategoryNotPermitted,
    Conflict,
    CredentialInvalid,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientBudget,
    InvalidRequest,
    NotFound,
    Unauthorized,
)
from youcard.models import (
    Booking,
    Entitlement,
)
from youcard.operations.booking_context import _Context, choose_entitlement, read_context
from youcard.operations.booking_input import request_fingerprint, validate
from youcard.operations.booking_records import (
    BookingRecord,
    BookingResult,
    actor_of,
    current_availability,
    forget_counters,
    is_cancelled,
    record_of,
)
from youcard.operations.booking_write import BookingWrite, write_booking

_entitlements: Table = Entitlement.__table__  # type: ignore[assignment]


def _replay(
    session: Session, *, partner_id: int, idempotency_key: str, fingerprint: bytes, today: date
) -> BookingResult | None:
    """The earlier booking with this key, or None; refuses a key reused for another request."""
    row = session.execute(
        select(Booking).where(
            Booking.partner_id == partner_id, Booking.idempotency_key == idempotency_key
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused("This idempotency key was already used for a different booking.")
    return BookingResult(
        booking=record_of(row, cancelled=is_cancelled(session, row.id)),
        available=current_availability(session, row.entitlement_id, today),
        replayed=True,
    )


def usable(
    context: _Context | None, *, card_issuer_id: str, today: date, standing: bool = False
) -> _Context:
    """The context if the card and the partner may be used for a booking (or a mandate),
    else the refusal: the one place these rules live. `standing`: under a mandate, the
    card's own status and validity no longer matter."""
    if context is None:
        raise CredentialInvalid("This card is not known.", reason="revoked")
    if context.partner_status is None:
        raise NotFound("No such partner.", code="partner_not_found")
    if context.partner_status is not PartnerStatus.ACTIVE:
        raise Forbidden("This partner may not book at present.", code="partner_inactive")
    if card_issuer_id != context.issuer_id:
        raise CredentialInvalid("This card is blocked.", reason="revoked")
    if not standing and context.card_status is not CardStatus.ACTIVE:
        raise CredentialInvalid("This card is blocked.", reason="revoked")
    if not standing and today > context.card_valid_until:
        raise CredentialInvalid("This card has expired.", reason="expired")
    if not context.permitted:
        raise CategoryNotPermitted("This partner may not book this category for this issuer.")
    return context


def _book_card(
    session: Session,
    *,
    partner_id: int,
    card_serial: bytes,
    category: Category | str,
    amount_cents: int,
    idempotency_key: str,
    now: datetime,
    units: int | None = None,
    service_date: date | None = None,
    reference: str | None = None,
    device_token_id: int | None = None,
    card_issuer_id: str,
    actor: str | None = None,
    standing: bool = False,
) -> BookingResult:
    """Book `amount_cents` (and `units`) for the card's child in `category`, exactly once per key.

    `standing`: under a mandate (the card was shown when it was made): the card's status and
    validity no longer matter (a lost card does not end a mandate: budgets belong to
    entitlements), and the booking is judged on its service date (an instalment booked by a
    late run counts in its own month).

    Private: only `book`, which verified the shown credential, passes the card's serial here.
    `card_issuer_id` is the issuer the credential named: a card of another issuer is refused
    (one issuer's key cannot book another's cards).
    `actor` names who booked in the audit log (default: the device, else the partner).

    Raises a DomainError (with the API's code) and writes nothing when the
    booking is not allowed; the caller rolls the transaction back.
    """
    category, reference = validate(
        card_serial=card_serial,
        category=category,
        amount_cents=amount_cents,
        units=units,
        idempotency_key=idempotency_key,
        reference=reference,
        service_date=service_date,
    )
    today = berlin_date(now)
    fingerprint = request_fingerprint(
        card_serial=card_serial,
        category=category,
        amount_cents=amount_cents,
        units=units,
        service_date=service_date,
        reference=reference,
    )
    context = read_context(
        session,
        partner_id=partner_id,
        card_serial=card_serial,
        category=category,
        key=idempotency_key,
        device_token_id=device_token_id,
    )
    if context is not None and not context.device_live:
        raise Unauthorized("This device token is not valid.")
    if context is None or context.replay_hash is not None:
        replay = _replay(
            session,
            partner_id=partner_id,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            today=today,
        )
        if replay is not None:
            return replay
    context = usable(context, card_issuer_id=card_issuer_id, today=today, standing=standing)

    service_date = service_date or today
    if service_date > today:
        raise InvalidRequest("The service date is in the future.", code="service_date_in_future")
    entitlement = choose_entitlement(context.candidates, service_date)
    period = entitlement.period
    assert period is not None  # a chosen entitlement covers the service date
    as_of = service_date if standing else today  # the day the budget is judged on
    if as_of not in period:
        raise Conflict("Today is outside the approval period.", code="outside_period")
    rule = entitlement.rule
    if rule.kind is RuleKind.UNITS:
        if units is None:
            raise InvalidRequest("This category is booked in units.", code="units_required")
        if amount_cents > budget.max_amount_for_units(rule, units):
            raise InvalidRequest(
                "The amount is above the cap per unit.",
                code="unit_cap_exceeded",
                max_amount_cents=budget.max_amount_for_units(rule, units),
            )
        if rule.units_per_day is not None and units > rule.units_per_day:
            raise Conflict("Not that many units on one day.", code="daily_limit_reached")
    elif units is not None:
        raise InvalidRequest("This category is not booked in units.", code="invalid_units")
    booked_units = units or 0

    entitled = budget.entitled_cents(rule, period, as_of)
    written = write_booking(
        session,
        BookingWrite(
            issuer_id=context.issuer_id,
            partner_id=partner_id,
            entitlement_id=entitlement.id,
            card_id=context.card_id,
            category=category.value,
            amount_cents=amount_cents,
            units=booked_units,
            service_date=service_date,
            reference=reference,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
            device_token_id=device_token_id,
            created_at=now,
            entitled_cents=entitled,
            units_total=rule.units_total,
            units_per_day=rule.units_per_day,
            actor=actor or actor_of(partner_id, device_token_id),
            audit_data=audit.canonical_json(
                {
                    "entitlement_id": entitlement.id,
                    "amount_cents": amount_cents,
                    "units": booked_units,
                    "service_date": service_date.isoformat(),
                }
            ),
        ),
    )
    forget_counters(session, entitlement.id)
    if written.outcome == "replay":
        # A twin request with the same key committed while we were checking.
        replay = _replay(
            session,
            partner_id=partner_id,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            today=today,
        )
        assert replay is not None  # the conflicting row is committed and visible now
        return replay
    if written.outcome == "daily_limit":
        raise Conflict(
            "This child already had what is allowed on that day.", code="daily_limit_reached"
        )
    if written.outcome == "refused":
        now_status, spent_cents, spent_units = session.execute(
            select(
                _entitlements.c.status, _entitlements.c.spent_cents, _entitlements.c.spent_units
            ).where(_entitlements.c.id == entitlement.id)
        ).one()
        if EntitlementStatus(now_status) is not EntitlementStatus.APPROVED:
            raise Conflict("The entitlement was revoked.", code="entitlement_inactive")
        raise InsufficientBudget(
            "Not enough left for this booking.",
            available=budget.available(
                rule, period, as_of, spent_cents=spent_cents, spent_units=spent_units
            ),
        )
    inserted = written.booking_id
    assert inserted is not None and written.spent_cents is not None
    assert written.spent_units is not None
    record = BookingRecord(
        id=inserted,
        partner_id=partner_id,
        entitlement_id=entitlement.id,
        category=category,
        amount_cents=amount_cents,
        units=booked_units,
        service_date=service_date,
        reference=reference,
        created_at=now,
    )
    left = budget.available(
        rule, period, as_of, spent_cents=written.spent_cents, spent_units=written.spent_units
    )
    return BookingResult(booking=record, available=left, replayed=False)


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
    partner_id: int,
    credential: object,
    trusted: credentials.TrustedKeys,
    category: Category | str,
    amount_cents: int,
    idempotency_key: str,
    now: datetime,
    units: int | None = None,
    service_date: date | None = None,
    reference: str | None = None,
    device_token_id: int | None = None,
    actor: str | None = None,
) -> BookingResult:
    """Book `amount_cents` (and `units`) for the child whose card's credential was shown, in
    `category`, exactly once per idempotency key (DESIGN.md: no booking by serial alone).

    The credential is verified here first, against `trusted` (every refusal of verify,
    `expired` included, refuses the booking); then the ledger checks the card's status, the
    partner, the category, the period and the budget, and writes all or nothing. Raises a
    DomainError with the API's code and writes nothing when the booking is not allowed; the
    caller rolls the transaction back. `actor` names who booked in the audit log (default:
    the device, else the partner)."""
    claims = shown_card(credential, trusted=trusted, now=now)
    return _book_card(
        session,
        partner_id=partner_id,
        card_serial=claims.serial,
        card_issuer_id=claims.issuer,
        category=category,
        amount_cents=amount_cents,
        idempotency_key=idempotency_key,
        now=now,
        units=units,
        service_date=service_date,
        reference=reference,
        device_token_id=device_token_id,
        actor=actor,
    )


def book_standing(
    session: Session,
    *,
    partner_id: int,
    card_serial: bytes,
    card_issuer_id: str,
    category: Category | str,
    amount_cents: int,
    idempotency_key: str,
    service_date: date,
    now: datetime,
    units: int | None = None,
    reference: str | None = None,
    actor: str | None = None,
) -> BookingResult:
    """Book under a mandate: the card was shown when the mandate was made (its serial and
    issuer), so no credential now; every other guard of an ordinary booking holds, judged on
    the service date. Only youcard.operations.mandates calls this, for a mandate it checked."""
    return _book_card(
        session,
        partner_id=partner_id,
        card_serial=card_serial,
        card_issuer_id=card_issuer_id,
        category=category,
        amount_cents=amount_cents,
        idempotency_key=idempotency_key,
        now=now,
        units=units,
        service_date=service_date,
        reference=reference,
        actor=actor,
        standing=True,
    )
