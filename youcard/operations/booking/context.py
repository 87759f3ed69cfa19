"""What a booking decides on, read in one round trip: the card, its child, the partner,
the permission, an earlier booking with the key, and the candidate entitlements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Table, and_, bindparam, or_, select

from youcard.db import DriverStatement, Session
from youcard.domain import budget
from youcard.domain.enums import (
    CardStatus,
    Category,
    EntitlementStatus,
    PartnerStatus,
)
from youcard.domain.models import (
    Booking,
    Card,
    Child,
    DeviceToken,
    Entitlement,
    Partner,
    PartnerPermission,
)
from youcard.errors import (
    Conflict,
    NotFound,
)

_bookings: Table = Booking.__table__  # type: ignore[assignment]
_entitlements: Table = Entitlement.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class _Candidate:
    """An entitlement of the card's child in the booked category, as read for booking."""

    id: int
    status: EntitlementStatus
    rule: budget.BudgetRule
    period: budget.Period | None


@dataclass(frozen=True)
class _Context:
    """Everything a booking decides on, read in one query."""

    card_id: int
    issuer_id: str
    card_status: CardStatus
    card_valid_until: date
    partner_status: PartnerStatus | None
    permitted: bool
    replay_hash: bytes | None
    device_live: bool
    candidates: list[_Candidate]


def may_book(partner_id: Any, issuer_id: Any, category: Any) -> Any:
    """SQL: whether the partner may book the category on the issuer's cards."""
    permissions = PartnerPermission.__table__
    return (
        select(permissions.c.partner_id)
        .where(
            permissions.c.partner_id == partner_id,
            permissions.c.issuer_id == issuer_id,
            permissions.c.category == category,
        )
        .exists()
    )


def device_is_live(partner_id: Any) -> Any:
    """SQL: true when the bound `device_id` is null (no device: partner staff) or names a
    device of the partner whose token is not revoked."""
    devices = DeviceToken.__table__
    device_id = bindparam("device_id", type_=devices.c.id.type)
    return or_(
        device_id.is_(None),
        select(devices.c.id)
        .where(
            devices.c.id == device_id,
            devices.c.partner_id == partner_id,
            devices.c.revoked_at.is_(None),
        )
        .exists(),
    )


def _context_query() -> Any:
    """Built once: card, child, partner, permission, replay and candidates, by bound parameters."""
    cards, children = Card.__table__, Child.__table__
    partners = Partner.__table__
    earlier = _bookings.alias("earlier")
    e = _entitlements
    partner_id = bindparam("partner_id", type_=partners.c.id.type)
    category = bindparam("category", type_=e.c.category.type)
    permitted = may_book(partner_id, cards.c.issuer_id, category)
    device_live = device_is_live(partner_id)
    return (
        select(
            cards.c.id,
            cards.c.issuer_id,
            cards.c.status,
            cards.c.valid_until,
            children.c.birth_date,
            partners.c.status.label("partner_status"),
            permitted.label("permitted"),
            earlier.c.request_hash.label("replay_hash"),
            device_live.label("device_live"),
            e.c.id.label("e_id"),
            e.c.status.label("e_status"),
            e.c.valid_from,
            e.c.valid_until.label("e_valid_until"),
            e.c.rule,
            e.c.accrual,
            e.c.amount_cents,
            e.c.units_total,
            e.c.units_per_day,
        )
        .select_from(
            cards.join(children, children.c.id == cards.c.child_id)
            .outerjoin(partners, partners.c.id == partner_id)
            .outerjoin(
                earlier,
                and_(
                    earlier.c.partner_id == partner_id,
                    earlier.c.idempotency_key == bindparam("key"),
                ),
            )
            .outerjoin(e, and_(e.c.child_id == cards.c.child_id, e.c.category == category))
        )
        .where(cards.c.serial == bindparam("serial"))
        .order_by(e.c.valid_from)
    )


_CONTEXT_QUERY = DriverStatement(_context_query())


def _params(
    *,
    partner_id: int,
    card_serial: bytes,
    category: Category,
    key: str,
    device_token_id: int | None,
) -> dict[str, Any]:
    return {
        "partner_id": partner_id,
        "serial": card_serial,
        "category": category.value,
        "key": key,
        "device_id": device_token_id,
    }


def _context_of(rows: list[Any], category: Category) -> _Context | None:
    if not rows:
        return None
    first = rows[0]
    candidates = [
        _Candidate(
            id=row.e_id,
            status=EntitlementStatus(row.e_status),
            rule=budget.BudgetRule.of_row(row),
            period=budget.effective_period(
                row.valid_from, row.e_valid_until, category=category, birth_date=row.birth_date
            ),
        )
        for row in rows
        if row.e_id is not None
    ]
    return _Context(
        card_id=first.id,
        issuer_id=first.issuer_id,
        card_status=CardStatus(first.status),
        card_valid_until=first.valid_until,
        partner_status=None
        if first.partner_status is None
        else PartnerStatus(first.partner_status),
        permitted=bool(first.permitted),
        replay_hash=first.replay_hash,
        device_live=bool(first.device_live),
        candidates=candidates,
    )


def read_context(
    session: Session,
    *,
    partner_id: int,
    card_serial: bytes,
    category: Category,
    key: str,
    device_token_id: int | None,
) -> _Context | None:
    """Card, child, partner, permission, an earlier booking with this key and the candidate
    entitlements in one round trip; None when the serial is unknown."""
    params = _params(
        partner_id=partner_id,
        card_serial=card_serial,
        category=category,
        key=key,
        device_token_id=device_token_id,
    )
    return _context_of(_CONTEXT_QUERY.rows(session.connection(), params), category)


@dataclass(frozen=True)
class ContextKey:
    """What one booking of a batch reads its context by (bookings without a device)."""

    partner_id: int
    card_serial: bytes
    category: Category
    key: str


def read_contexts(session: Session, keys: list[ContextKey]) -> list[_Context | None]:
    """`read_context` for each of a batch's bookings, in order, in one round trip on
    PostgreSQL (a pipeline of the same query): the jobs' and list bookings' read."""
    params = [
        _params(
            partner_id=k.partner_id,
            card_serial=k.card_serial,
            category=k.category,
            key=k.key,
            device_token_id=None,
        )
        for k in keys
    ]
    rows = _CONTEXT_QUERY.rows_many(session.connection(), params)
    return [_context_of(each, k.category) for each, k in zip(rows, keys, strict=True)]


def choose_entitlement(candidates: list[_Candidate], service_date: date) -> _Candidate:
    """The approved entitlement whose usable period holds the service date."""
    covering = [c for c in candidates if c.period is not None and service_date in c.period]
    for candidate in covering:
        if candidate.status is EntitlementStatus.APPROVED:
            return candidate
    if covering:
        raise Conflict(
            "The entitlement for this service date is not approved or was revoked.",
            code="entitlement_inactive",
        )
    if any(c.status is EntitlementStatus.APPROVED for c in candidates):
        raise Conflict("The service date is outside the approval period.", code="outside_period")
    raise NotFound("The child has no entitlement in this category.", code="no_entitlement")
