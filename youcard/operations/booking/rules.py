"""A booking's rules, from the request to the result: its input checked (`ask`), the
decision on what was read (`decide`: card, partner, category, period, units; the write to
make), and the result from what the write did (`finish`). youcard.operations.booking.book runs
them for one booking at a time and for a batch; nothing else decides a booking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Table, select

from youcard import audit
from youcard.clock import berlin_date
from youcard.db import Session
from youcard.domain import budget
from youcard.domain.enums import (
    Category,
    EntitlementStatus,
    RuleKind,
)
from youcard.domain.models import Booking, Entitlement
from youcard.domain.usability import card_refusal, partner_refusal
from youcard.errors import (
    CategoryNotPermitted,
    Conflict,
    CredentialInvalid,
    IdempotencyKeyReused,
    InsufficientBudget,
    InvalidRequest,
    Unauthorized,
)
from youcard.operations.booking.context import _Context, choose_entitlement
from youcard.operations.booking.inputs import request_fingerprint, validate
from youcard.operations.booking.records import (
    BookingRecord,
    BookingResult,
    actor_of,
    current_availability,
    forget_counters,
    is_cancelled,
    record_of,
)
from youcard.operations.booking.write import BookingWrite, Written

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
    else the refusal (the card and the partner by youcard.domain.usability's predicates, which
    verify asks too). `standing`: under a mandate, the card's own status and validity no
    longer matter."""
    if context is None:
        raise CredentialInvalid("This card is not known.", reason="revoked")
    refused = partner_refusal(context.partner_status)
    if refused is not None:
        raise refused
    reason = card_refusal(
        status=context.card_status,
        issuer_id=context.issuer_id,
        valid_until=context.card_valid_until,
        claimed_issuer=card_issuer_id,
        today=today,
        standing=standing,
    )
    if reason == "expired":
        raise CredentialInvalid("This card has expired.", reason="expired")
    if reason is not None:
        raise CredentialInvalid("This card is blocked.", reason="revoked")
    if not context.permitted:
        raise CategoryNotPermitted("This partner may not book this category for this issuer.")
    return context


@dataclass(frozen=True)
class BookingRequest:
    """A booking as asked for, its input checked (`ask`)."""

    partner_id: int
    card_serial: bytes
    card_issuer_id: str
    category: Category
    amount_cents: int
    units: int | None
    idempotency_key: str
    service_date: date | None
    reference: str | None
    device_token_id: int | None
    actor: str | None
    standing: bool
    fingerprint: bytes
    now: datetime
    today: date


def ask(
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
) -> BookingRequest:
    category, reference = validate(
        card_serial=card_serial,
        category=category,
        amount_cents=amount_cents,
        units=units,
        idempotency_key=idempotency_key,
        reference=reference,
        service_date=service_date,
    )
    fingerprint = request_fingerprint(
        card_serial=card_serial,
        category=category,
        amount_cents=amount_cents,
        units=units,
        service_date=service_date,
        reference=reference,
    )
    return BookingRequest(
        partner_id,
        card_serial,
        card_issuer_id,
        category,
        amount_cents,
        units,
        idempotency_key,
        service_date,
        reference,
        device_token_id,
        actor,
        standing,
        fingerprint,
        now,
        berlin_date(now),
    )


@dataclass(frozen=True)
class Plan:
    """A booking decided up to its write: what to write and how to judge what it did."""

    request: BookingRequest
    write: BookingWrite
    rule: budget.BudgetRule
    period: budget.Period
    as_of: date  # the day the budget is judged on


def decide(session: Session, r: BookingRequest, context: _Context | None) -> BookingResult | Plan:
    """The booking's rules on what was read (`read_context`): the earlier booking with the
    key, or the write to make. Raises a DomainError (with the API's code) when the booking
    is not allowed."""
    if context is not None and not context.device_live:
        raise Unauthorized("This device token is not valid.")
    if context is None or context.replay_hash is not None:
        replay = _replay(
            session,
            partner_id=r.partner_id,
            idempotency_key=r.idempotency_key,
            fingerprint=r.fingerprint,
            today=r.today,
        )
        if replay is not None:
            return replay
    context = usable(context, card_issuer_id=r.card_issuer_id, today=r.today, standing=r.standing)

    service_date = r.service_date or r.today
    if service_date > r.today:
        raise InvalidRequest("The service date is in the future.", code="service_date_in_future")
    entitlement = choose_entitlement(context.candidates, service_date)
    period = entitlement.period
    assert period is not None  # a chosen entitlement covers the service date
    as_of = service_date if r.standing else r.today
    if as_of not in period:
        raise Conflict("Today is outside the approval period.", code="outside_period")
    rule = entitlement.rule
    units = r.units
    if rule.kind is RuleKind.UNITS:
        if units is None:
            raise InvalidRequest("This category is booked in units.", code="units_required")
        if r.amount_cents > budget.max_amount_for_units(rule, units):
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
    write = BookingWrite(
        issuer_id=context.issuer_id,
        partner_id=r.partner_id,
        entitlement_id=entitlement.id,
        card_id=context.card_id,
        category=r.category.value,
        amount_cents=r.amount_cents,
        units=booked_units,
        service_date=service_date,
        reference=r.reference,
        idempotency_key=r.idempotency_key,
        request_hash=r.fingerprint,
        device_token_id=r.device_token_id,
        created_at=r.now,
        entitled_cents=budget.entitled_cents(rule, period, as_of),
        units_total=rule.units_total,
        units_per_day=rule.units_per_day,
        actor=r.actor or actor_of(r.partner_id, r.device_token_id),
        audit_data=audit.canonical_json(
            {
                "entitlement_id": entitlement.id,
                "amount_cents": r.amount_cents,
                "units": booked_units,
                "service_date": service_date.isoformat(),
            }
        ),
    )
    return Plan(r, write, rule, period, as_of)


def finish(session: Session, plan: Plan, written: Written) -> BookingResult:
    """The booking's result from what its write did; raises the refusal when it refused."""
    r, w = plan.request, plan.write
    forget_counters(session, w.entitlement_id)
    if written.outcome == "replay":
        # A twin request with the same key committed while we were checking.
        replay = _replay(
            session,
            partner_id=r.partner_id,
            idempotency_key=r.idempotency_key,
            fingerprint=r.fingerprint,
            today=r.today,
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
            ).where(_entitlements.c.id == w.entitlement_id)
        ).one()
        if EntitlementStatus(now_status) is not EntitlementStatus.APPROVED:
            raise Conflict("The entitlement was revoked.", code="entitlement_inactive")
        raise InsufficientBudget(
            "Not enough left for this booking.",
            available=budget.available(
                plan.rule, plan.period, plan.as_of, spent_cents=spent_cents, spent_units=spent_units
            ),
        )
    assert written.booking_id is not None and written.spent_cents is not None
    assert written.spent_units is not None
    record = BookingRecord(
        id=written.booking_id,
        partner_id=r.partner_id,
        entitlement_id=w.entitlement_id,
        category=r.category,
        amount_cents=w.amount_cents,
        units=w.units,
        service_date=w.service_date,
        reference=w.reference,
        created_at=r.now,
    )
    left = budget.available(
        plan.rule,
        plan.period,
        plan.as_of,
        spent_cents=written.spent_cents,
        spent_units=written.spent_units,
    )
    return BookingResult(booking=record, available=left, replayed=False)
