"""The family's own view: sign in with the access code from the approval letter and a
child's birth date; see each child's card, what is left and the bookings; report a card
lost. Guessing is stopped per household (lockout) here and per address in the web app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import aliased

from youcard import audit
from youcard.clock import berlin_date
from youcard.db import DriverStatement, Session
from youcard.domain.access_codes import code_hash, normalize, random_code, shown, well_formed
from youcard.domain.budget import Available
from youcard.domain.entitlement_rules import availability, usable_period
from youcard.domain.enums import BookingKind, Category, EntitlementStatus
from youcard.domain.languages import FAMILY_LANGUAGES
from youcard.domain.models import Booking, Card, Child, Entitlement, Household, Mandate, Partner
from youcard.errors import InvalidRequest, NotFound
from youcard.messages.outbox import forget_sealed_codes
from youcard.operations.cards import active_card, revoke_card
from youcard.operations.staff import AccountLocked, LoginFailed, count_failure
from youcard.policy import RECORDERS, Family, Staff, require_role
from youcard.tenancy import own_child

BOOKINGS_SHOWN = 50


def new_access_code(
    session: Session,
    *,
    by: Staff,
    household_id: int,
    now: datetime,
    code: str | None = None,
) -> str:
    """A new access code for the household's letter, shown once; the old one stops working.
    `code` (demo data only) sets a known code instead of a random one."""
    require_role(by, RECORDERS, "make access codes")
    household = session.get(Household, household_id)
    if household is None or household.issuer_id != by.issuer_id:
        raise NotFound("No such household.", code="household_not_found")
    code = normalize(code) if code else ""
    if not well_formed(code):
        code = random_code()
    household.access_code_hash = code_hash(code)
    household.access_code_set_at = now
    household.access_code_set_by = by.actor
    household.access_code_delivered_at = now  # shown to staff, for the letter or the counter
    household.session_generation += 1  # whoever signed in with the old code is signed out
    household.family_failed_logins = 0
    household.family_locked_until = None
    session.flush()
    forget_sealed_codes(session, household.id)  # a message still waiting names the old one
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="household.access_code",
        object_type="household",
        object_id=household.id,
        now=now,
    )
    return shown(code)


def code_for_message(
    session: Session, household: Household, *, by: Staff, now: datetime
) -> str | None:
    """A first access code for a household that has none, to go with the approval message
    `by` caused (youcard.operations.entitlements; audited there): delivered once that
    message is sent; a letter made before then carries a new one. None when another
    approval gave the household its code meanwhile (one statement decides: no two codes)."""
    code = random_code()
    made = _FIRST_CODE.rows(
        session.connection(),
        {"h": household.id, "hash": code_hash(code), "at": now, "by": by.actor, "delivered": None},
    )
    session.expire(household, ["access_code_hash", "access_code_set_at", "access_code_set_by"])
    return code if made else None


_households: Table = Household.__table__  # type: ignore[assignment]
# One statement, straight on the driver on PostgreSQL (the approval's time: bench/messages.py)
_FIRST_CODE = DriverStatement(
    update(_households)
    .where(_households.c.id == bindparam("h"), _households.c.access_code_hash.is_(None))
    .values(
        access_code_hash=bindparam("hash"),
        access_code_set_at=bindparam("at"),
        access_code_set_by=bindparam("by"),
        access_code_delivered_at=bindparam("delivered"),
    )
    .returning(_households.c.id)
)


def family_sign_in(session: Session, *, code: str, birth_date: date, now: datetime) -> Household:
    """The household whose code this is, if one of its children has this birth date."""
    household = session.scalars(
        select(Household).where(Household.access_code_hash == code_hash(code))
    ).one_or_none()
    if household is None:
        raise LoginFailed("The code or the date of birth is wrong.")
    if household.family_locked_until is not None and household.family_locked_until > now:
        raise AccountLocked.until("Too many wrong attempts.", household.family_locked_until, now)
    if not any(child.birth_date == birth_date for child in household.children):
        household.family_failed_logins, until = count_failure(household.family_failed_logins, now)
        locked = until is not None
        if locked:
            household.family_locked_until = until
        audit.record(
            session,
            issuer_id=household.issuer_id,
            actor="anonymous",
            action="family.lockout" if locked else "family.login_failed",
            object_type="household",
            object_id=household.id,
            now=now,
        )
        session.flush()
        if until is not None:
            raise AccountLocked.until("Too many wrong attempts.", until, now)
        raise LoginFailed("The code or the date of birth is wrong.")
    household.family_failed_logins = 0
    household.family_locked_until = None
    audit.record(
        session,
        issuer_id=household.issuer_id,
        actor=f"family:{household.id}",
        action="family.login",
        object_type="household",
        object_id=household.id,
        now=now,
    )
    session.flush()
    return household


@dataclass(frozen=True)
class Balance:
    """What is left in one category, and until when."""

    category: Category
    available: Available
    until: date


@dataclass(frozen=True)
class FamilyBooking:
    """A booking as the family sees it."""

    id: int
    day: date
    partner: str
    category: Category
    amount_cents: int
    cancelled: bool


@dataclass(frozen=True)
class FamilyMandate:
    """A partner's standing authorization for the child, as the family sees it."""

    id: int
    partner: str
    category: Category
    monthly_amount_cents: int | None
    since: date


@dataclass
class ChildView:
    """One child of the household, as the family page shows it."""

    id: int
    given_name: str
    card_id: int | None
    credential: str | None
    card_valid_until: date | None
    balances: list[Balance] = field(default_factory=list)
    bookings: list[FamilyBooking] = field(default_factory=list)
    mandates: list[FamilyMandate] = field(default_factory=list)


def children_of(session: Session, *, household_id: int, now: datetime) -> list[ChildView]:
    """The household's children with their current card, balances and latest bookings."""
    today = berlin_date(now)
    views = []
    children = session.scalars(
        select(Child).where(Child.household_id == household_id).order_by(Child.id)
    )
    for child in children:
        card = active_card(session, child.id)
        view = ChildView(
            id=child.id,
            given_name=child.given_name,
            card_id=card.id if card else None,
            credential=card.credential if card else None,
            card_valid_until=card.valid_until if card else None,
        )
        for entitlement in session.scalars(
            select(Entitlement)
            .where(
                Entitlement.child_id == child.id,
                Entitlement.status == EntitlementStatus.APPROVED,
            )
            .order_by(Entitlement.category, Entitlement.valid_from)
        ):
            period = usable_period(entitlement, child.birth_date)
            if period is None or today not in period:
                continue
            view.balances.append(
                Balance(
                    entitlement.category,
                    availability(entitlement, child.birth_date, today),
                    period.end,
                )
            )
        cancellation = aliased(Booking)
        for booking, partner, cancelled_id in session.execute(
            select(Booking, Partner.name, cancellation.id)
            .join(Partner, Partner.id == Booking.partner_id)
            .join(Entitlement, Entitlement.id == Booking.entitlement_id)
            .outerjoin(cancellation, cancellation.cancels_id == Booking.id)
            .where(Entitlement.child_id == child.id, Booking.kind == BookingKind.BOOKING)
            .order_by(Booking.id.desc())
            .limit(BOOKINGS_SHOWN)
        ):
            view.bookings.append(
                FamilyBooking(
                    booking.id,
                    booking.service_date,
                    partner,
                    booking.category,
                    booking.amount_cents,
                    cancelled_id is not None,
                )
            )
        for mandate, partner in session.execute(
            select(Mandate, Partner.name)
            .join(Partner, Partner.id == Mandate.partner_id)
            .where(Mandate.child_id == child.id, Mandate.status == "active")
            .order_by(Mandate.id)
        ):
            view.mandates.append(
                FamilyMandate(
                    mandate.id,
                    partner,
                    mandate.category,
                    mandate.monthly_amount_cents,
                    mandate.valid_from,
                )
            )
        views.append(view)
    return views


def report_card_lost(session: Session, *, by: Family, child_id: int, now: datetime) -> Card:
    """Block the child's card at once (a new one comes from the office)."""
    child = own_child(session, by, child_id)
    card = active_card(session, child.id)
    if card is None:
        raise NotFound("This child has no card in use.", code="no_active_card")
    return revoke_card(
        session,
        card_id=card.id,
        by=by,
        reason="lost (reported by the family)",
        now=now,
    )


def set_reminders(session: Session, *, by: Family, on: bool, now: datetime) -> Household:
    """The family's own choice: reminders (money expiring or unused) on or off. The
    messages the law needs it to get (a blocked card, a standing authorization) still go."""
    household = session.get(Household, by.household_id)
    if household is None or household.issuer_id != by.issuer_id:
        raise NotFound("No such family.", code="household_not_found")
    if (household.reminders_off_at is None) != on:
        household.reminders_off_at = None if on else now
        audit.record(
            session,
            issuer_id=household.issuer_id,
            actor=by.actor,
            action="household.reminders",
            object_type="household",
            object_id=household.id,
            now=now,
            data={"on": on},
        )
    return household


MESSAGE_CHANNELS = ("both", "email", "sms")


def set_message_choices(
    session: Session, *, by: Family, language: str, channel: str, now: datetime
) -> Household:
    """The family's own choice of the language its letters and messages speak and of the
    way messages reach it (both, e-mail or SMS); audited by what changed, not its value."""
    if language not in FAMILY_LANGUAGES:
        raise InvalidRequest("This language is not offered.", code="unknown_language")
    if channel not in MESSAGE_CHANNELS:
        raise InvalidRequest("No such way.", code="unknown_channel")
    household = session.get(Household, by.household_id)
    if household is None or household.issuer_id != by.issuer_id:
        raise NotFound("No such family.", code="household_not_found")
    changed = [
        name
        for name, old, new in (
            ("language", household.language, language),
            ("message_channel", household.message_channel, channel),
        )
        if old != new
    ]
    household.language, household.message_channel = language, channel
    if changed:
        audit.record(
            session,
            issuer_id=household.issuer_id,
            actor=by.actor,
            action="household.message_choices",
            object_type="household",
            object_id=household.id,
            now=now,
            data={"changed": changed},
        )
    return household
