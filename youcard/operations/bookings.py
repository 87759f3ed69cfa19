"""The booking ledger: book against an entitlement, cancel a booking; never overspend.

The overspend guard is one conditional UPDATE of the entitlement's counters
(`... WHERE spent_cents + :amount <= :entitled`, rowcount checked) in the same
transaction as the booking row; the database's CHECK constraints are the
backstop. A retried request is recognised by the unique (partner, idempotency
key) and answered with the first booking.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from importlib.resources import files
from typing import Any

from sqlalchemy import Integer, Table, and_, bindparam, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import identity_key

from youcard import audit, budget, credentials
from youcard.budget import Available
from youcard.clock import berlin_date
from youcard.credentials import Claims
from youcard.db import DriverStatement, Session, upsert
from youcard.enums import (
    BookingKind,
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
    Card,
    Child,
    DailyUsage,
    DeviceToken,
    Entitlement,
    Partner,
    PartnerPermission,
)
from youcard.operations.entitlements import availability

MAX_AMOUNT_CENTS = 10_000_000  # 100,000 EUR: far above any benefit, far below integer limits
MAX_UNITS = 1000
MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_REFERENCE_LENGTH = 140
SERIAL_BYTES = 16
MAX_ID = 2**63 - 1  # ids are BIGINT: anything larger is no id of ours

_bookings: Table = Booking.__table__  # type: ignore[assignment]
_entitlements: Table = Entitlement.__table__  # type: ignore[assignment]
_daily: Table = DailyUsage.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class BookingRecord:
    """A booking as the partner sees it."""

    id: int
    partner_id: int
    entitlement_id: int
    category: Category
    amount_cents: int
    units: int
    service_date: date
    reference: str | None
    created_at: datetime
    cancelled: bool = False


@dataclass(frozen=True)
class BookingResult:
    """The booking, what is left after it, and whether this was a replay of an earlier request."""

    booking: BookingRecord
    available: Available
    replayed: bool


@dataclass(frozen=True)
class CancellationResult:
    """The cancelled booking, what is left now, and whether it had been cancelled before."""

    booking: BookingRecord
    cancellation_id: int
    available: Available
    already_cancelled: bool


def _forget_counters(session: Session, entitlement_id: int) -> None:
    """Expire a loaded Entitlement's counters: the ledger moved them with Core statements."""
    cached = session.identity_map.get(identity_key(Entitlement, entitlement_id))
    if cached is not None:
        session.expire(cached, ["spent_cents", "spent_units", "status"])


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _guard(*, cents: bool, units: bool) -> Any:
    """The overspend guard: one conditional UPDATE, built once per shape."""
    e = _entitlements
    amount = bindparam("amount", type_=Integer())
    booked_units = bindparam("booked_units", type_=Integer())
    stmt = update(e).where(e.c.id == bindparam("e_id"), e.c.status == EntitlementStatus.APPROVED)
    if cents:
        stmt = stmt.where(e.c.spent_cents + amount <= bindparam("entitled", type_=Integer()))
    if units:
        stmt = stmt.where(
            e.c.spent_units + booked_units <= bindparam("b_units_total", type_=Integer())
        )
    return stmt.values(
        spent_cents=e.c.spent_cents + amount, spent_units=e.c.spent_units + booked_units
    ).returning(e.c.spent_cents, e.c.spent_units)


_GUARDS = {(c, u): _guard(cents=c, units=u) for c in (True, False) for u in (True, False)}
_BOOKING_INSERT = {
    name: module.insert(_bookings)
    .on_conflict_do_nothing(index_elements=["partner_id", "idempotency_key"])
    .returning(_bookings.c.id)
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _is_int(value: object) -> bool:
    return type(value) is int


def _validate(
    *,
    card_serial: object,
    category: object,
    amount_cents: object,
    units: object,
    idempotency_key: object,
    reference: object,
    service_date: object,
) -> tuple[Category, str | None]:
    if not isinstance(card_serial, bytes) or len(card_serial) != SERIAL_BYTES:
        raise CredentialInvalid("This is not a card serial.", reason="malformed")
    try:
        category = Category(category if isinstance(category, str) else "")
    except ValueError:
        raise InvalidRequest("Unknown category.", code="invalid_category") from None
    if not _is_int(amount_cents) or not 0 < amount_cents <= MAX_AMOUNT_CENTS:  # type: ignore[operator]
        raise InvalidRequest(
            "The amount must be a whole number of cents above zero.", code="invalid_amount"
        )
    if units is not None and (not _is_int(units) or not 0 < units <= MAX_UNITS):  # type: ignore[operator]
        raise InvalidRequest("Units must be a whole number above zero.", code="invalid_units")
    if (
        not isinstance(idempotency_key, str)
        or not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH
        or not idempotency_key.isascii()
        or not idempotency_key.isprintable()
    ):
        raise InvalidRequest(
            "The idempotency key must be 1 to 200 printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    if service_date is not None and (
        not isinstance(service_date, date) or isinstance(service_date, datetime)
    ):
        raise InvalidRequest("The service date must be a date.", code="invalid_service_date")
    if reference is not None:
        if not isinstance(reference, str):
            raise InvalidRequest("The reference must be text.", code="invalid_reference")
        reference = reference.strip() or None
        if reference is not None and (
            len(reference) > MAX_REFERENCE_LENGTH or not reference.isprintable()
        ):
            raise InvalidRequest(
                "The reference must be at most 140 printable characters.", code="invalid_reference"
            )
    return category, reference


def request_fingerprint(
    *,
    card_serial: bytes,
    category: Category,
    amount_cents: int,
    units: int | None,
    service_date: date | None,
    reference: str | None,
) -> bytes:
    """SHA-256 of the request's meaning: the same key with another body is refused."""
    canonical = json.dumps(
        [
            card_serial.hex(),
            category.value,
            amount_cents,
            units,
            service_date.isoformat() if service_date else None,
            reference,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def _record(row: Any, *, cancelled: bool) -> BookingRecord:
    return BookingRecord(
        id=row.id,
        partner_id=row.partner_id,
        entitlement_id=row.entitlement_id,
        category=Category(row.category),
        amount_cents=row.amount_cents,
        units=row.units,
        service_date=row.service_date,
        reference=row.reference,
        created_at=row.created_at,
        cancelled=cancelled,
    )


def _is_cancelled(session: Session, booking_id: int) -> bool:
    return session.scalar(select(Booking.id).where(Booking.cancels_id == booking_id)) is not None


def _current_availability(session: Session, entitlement_id: int, on: date) -> Available:
    entitlement, birth_date = session.execute(
        select(Entitlement, Child.birth_date)
        .join(Child, Child.id == Entitlement.child_id)
        .where(Entitlement.id == entitlement_id)
    ).one()
    return availability(entitlement, birth_date, on)


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
        booking=_record(row, cancelled=_is_cancelled(session, row.id)),
        available=_current_availability(session, row.entitlement_id, today),
        replayed=True,
    )


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


def _read_context(
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
    rows = _CONTEXT_QUERY.rows(
        session.connection(),
        {
            "partner_id": partner_id,
            "serial": card_serial,
            "category": category.value,
            "key": key,
            "device_id": device_token_id,
        },
    )
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


def _choose_entitlement(candidates: list[_Candidate], service_date: date) -> _Candidate:
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


def _actor(partner_id: int, device_token_id: int | None) -> str:
    return f"device:{device_token_id}" if device_token_id else f"partner:{partner_id}"


@dataclass(frozen=True)
class _Written:
    """What a booking's writes did: "booked", or which step refused ("refused": the overspend
    guard, "daily_limit", "replay": a twin with the same key committed first)."""

    outcome: str
    booking_id: int | None = None
    spent_cents: int | None = None
    spent_units: int | None = None


_BOOK_CALL = DriverStatement(
    text(
        "SELECT outcome, booking_id, new_spent_cents, new_spent_units FROM youcard_book("
        ":issuer_id, :partner_id, :entitlement_id, :card_id, :category, :amount_cents, :units,"
        " :service_date, :reference, :idempotency_key, :request_hash, :device_token_id,"
        " :created_at, :entitled_cents, :units_total, :units_per_day, :actor, :audit_data)"
    )
)
_UNDO_GUARD = (
    update(_entitlements)
    .where(_entitlements.c.id == bindparam("e_id"))
    .values(
        spent_cents=_entitlements.c.spent_cents - bindparam("amount", type_=Integer()),
        spent_units=_entitlements.c.spent_units - bindparam("booked_units", type_=Integer()),
    )
)


@dataclass(frozen=True)
class BookingWrite:
    """What a booking writes, checked and decided: the parameters of `youcard_book`
    (youcard/sql/youcard_book.sql), in its order, and of `_write_statements`."""

    issuer_id: str
    partner_id: int
    entitlement_id: int
    card_id: int
    category: str
    amount_cents: int
    units: int
    service_date: date
    reference: str | None
    idempotency_key: str
    request_hash: bytes
    device_token_id: int | None
    created_at: datetime
    entitled_cents: int | None  # the overspend guard's limit (None: units alone limit)
    units_total: int | None
    units_per_day: int | None
    actor: str
    audit_data: str  # canonical JSON


BOOK_SQL = files("youcard") / "sql" / "youcard_book.sql"


def book_function_sql() -> str:
    """The source of the PostgreSQL function `youcard_book` (installed by migrations)."""
    return BOOK_SQL.read_text(encoding="utf-8")


def _write(session: Session, w: BookingWrite) -> _Written:
    """A booking's writes, all or nothing. On PostgreSQL one call of the database function
    `youcard_book` (youcard/sql/youcard_book.sql): one round trip, atomic on its own, so the
    partner API can run it outside a transaction. Elsewhere the same steps as statements."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        (row,) = _BOOK_CALL.rows(connection, vars(w))
        return _Written(row.outcome, row.booking_id, row.new_spent_cents, row.new_spent_units)
    return _write_statements(session, w)


def _write_statements(session: Session, w: BookingWrite) -> _Written:
    """The steps of `youcard_book`, in its order, as statements in the caller's transaction:
    the overspend guard, the per-day guard, the booking row, the audit event. A step that
    refuses undoes the ones before it."""
    connection = session.connection()
    guard = {
        "e_id": w.entitlement_id,
        "amount": w.amount_cents,
        "booked_units": w.units,
        "entitled": w.entitled_cents,
        "b_units_total": w.units_total,
    }
    shape = (w.entitled_cents is not None, w.units_total is not None)
    spent = connection.execute(_GUARDS[shape], guard).one_or_none()
    if spent is None:
        return _Written("refused")
    if w.units_per_day is not None:
        daily = upsert(session, _daily).values(
            entitlement_id=w.entitlement_id,
            service_date=w.service_date,
            issuer_id=w.issuer_id,
            units=w.units,
        )
        daily = daily.on_conflict_do_update(
            index_elements=["entitlement_id", "service_date"],
            set_={"units": _daily.c.units + daily.excluded.units},
            where=_daily.c.units + daily.excluded.units <= w.units_per_day,
        ).returning(_daily.c.units)
        if connection.execute(daily).scalar_one_or_none() is None:
            connection.execute(_UNDO_GUARD, guard)
            # as the function: the counters its guard had reached (the caller ignores them)
            return _Written("daily_limit", None, spent.spent_cents, spent.spent_units)
    booking_id = connection.execute(
        _BOOKING_INSERT[connection.dialect.name],
        {
            "issuer_id": w.issuer_id,
            "partner_id": w.partner_id,
            "entitlement_id": w.entitlement_id,
            "card_id": w.card_id,
            "category": w.category,
            "amount_cents": w.amount_cents,
            "units": w.units,
            "service_date": w.service_date,
            "reference": w.reference,
            "idempotency_key": w.idempotency_key,
            "request_hash": w.request_hash,
            "device_token_id": w.device_token_id,
            "created_at": w.created_at,
            "kind": BookingKind.BOOKING,
        },
    ).scalar_one_or_none()
    if booking_id is None:
        connection.execute(_UNDO_GUARD, guard)
        if w.units_per_day is not None:
            connection.execute(
                update(_daily)
                .where(
                    _daily.c.entitlement_id == w.entitlement_id,
                    _daily.c.service_date == w.service_date,
                )
                .values(units=_daily.c.units - w.units)
            )
        return _Written("replay", None, spent.spent_cents, spent.spent_units)
    audit.record(
        session,
        issuer_id=w.issuer_id,
        actor=w.actor,
        action="booking.create",
        object_type="booking",
        object_id=booking_id,
        now=w.created_at,
        raw_data=w.audit_data,
    )
    return _Written("booked", booking_id, spent.spent_cents, spent.spent_units)


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
) -> BookingResult:
    """Book `amount_cents` (and `units`) for the card's child in `category`, exactly once per key.

    Private: only `book`, which verified the shown credential, passes the card's serial here.
    `card_issuer_id` is the issuer the credential named: a card of another issuer is refused
    (one issuer's key cannot book another's cards).
    `actor` names who booked in the audit log (default: the device, else the partner).

    Raises a DomainError (with the API's code) and writes nothing when the
    booking is not allowed; the caller rolls the transaction back.
    """
    category, reference = _validate(
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
    context = _read_context(
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
    if context is None:
        raise CredentialInvalid("This card is not known.", reason="revoked")

    if context.partner_status is None:
        raise NotFound("No such partner.", code="partner_not_found")
    if context.partner_status is not PartnerStatus.ACTIVE:
        raise Forbidden("This partner may not book at present.", code="partner_inactive")
    if context.card_status is not CardStatus.ACTIVE or card_issuer_id != context.issuer_id:
        raise CredentialInvalid("This card is blocked.", reason="revoked")
    if today > context.card_valid_until:
        raise CredentialInvalid("This card has expired.", reason="expired")
    if not context.permitted:
        raise CategoryNotPermitted("This partner may not book this category for this issuer.")

    service_date = service_date or today
    if service_date > today:
        raise InvalidRequest("The service date is in the future.", code="service_date_in_future")
    entitlement = _choose_entitlement(context.candidates, service_date)
    period = entitlement.period
    assert period is not None  # a chosen entitlement covers the service date
    if today not in period:
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

    entitled = budget.entitled_cents(rule, period, today)
    written = _write(
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
            actor=actor or _actor(partner_id, device_token_id),
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
    _forget_counters(session, entitlement.id)
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
                rule, period, today, spent_cents=spent_cents, spent_units=spent_units
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
        rule, period, today, spent_cents=written.spent_cents, spent_units=written.spent_units
    )
    return BookingResult(booking=record, available=left, replayed=False)


def cancel_booking(
    session: Session,
    *,
    partner_id: int,
    booking_id: int,
    now: datetime,
    device_token_id: int | None = None,
    actor: str | None = None,
) -> CancellationResult:
    """Cancel one of the partner's bookings; gives the budget back exactly once.

    Another partner's booking is "not found" (never "forbidden": no one learns it exists).
    Cancelling twice is harmless and answers with the first cancellation.
    """
    if not _is_int(booking_id) or not 0 < booking_id <= MAX_ID:
        raise NotFound("No such booking.", code="booking_not_found")
    original = session.execute(
        select(Booking).where(
            Booking.id == booking_id,
            Booking.partner_id == partner_id,
            Booking.kind == BookingKind.BOOKING,
        )
    ).scalar_one_or_none()
    if original is None:
        raise NotFound("No such booking.", code="booking_not_found")
    today = berlin_date(now)

    cancellation_id = session.execute(
        upsert(session, _bookings)
        .values(
            issuer_id=original.issuer_id,
            partner_id=original.partner_id,
            entitlement_id=original.entitlement_id,
            card_id=original.card_id,
            kind=BookingKind.CANCELLATION,
            cancels_id=original.id,
            category=original.category,
            amount_cents=original.amount_cents,
            units=original.units,
            service_date=original.service_date,
            reference=original.reference,
            device_token_id=device_token_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["cancels_id"])
        .returning(_bookings.c.id)
    ).scalar_one_or_none()
    if cancellation_id is None:
        earlier = aliased(Booking)
        first = session.scalar(select(earlier.id).where(earlier.cancels_id == original.id))
        assert first is not None  # the conflicting cancellation is committed and visible now
        return CancellationResult(
            booking=_record(original, cancelled=True),
            cancellation_id=first,
            available=_current_availability(session, original.entitlement_id, today),
            already_cancelled=True,
        )

    session.execute(
        update(_entitlements)
        .where(_entitlements.c.id == original.entitlement_id)
        .values(
            spent_cents=_entitlements.c.spent_cents - original.amount_cents,
            spent_units=_entitlements.c.spent_units - original.units,
        )
    )
    if original.units:
        session.execute(
            update(_daily)
            .where(
                _daily.c.entitlement_id == original.entitlement_id,
                _daily.c.service_date == original.service_date,
            )
            .values(units=_daily.c.units - original.units)
        )
    _forget_counters(session, original.entitlement_id)
    audit.record(
        session,
        issuer_id=original.issuer_id,
        actor=actor or _actor(partner_id, device_token_id),
        action="booking.cancel",
        object_type="booking",
        object_id=original.id,
        now=now,
        data={"cancellation_id": cancellation_id, "amount_cents": original.amount_cents},
    )
    return CancellationResult(
        booking=_record(original, cancelled=True),
        cancellation_id=cancellation_id,
        available=_current_availability(session, original.entitlement_id, today),
        already_cancelled=False,
    )


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
