"""Create issuers, staff, households, children and partners.

These are the building blocks that the issuer service's forms and the demo
data use; the caller (a view or the CLI) checks who may call them and passes
its identity as `actor` for the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from schwifty import BIC, IBAN
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from youcard import audit, budget, security
from youcard.clock import berlin_date
from youcard.db import Session
from youcard.enums import Category, PartnerStatus, Role
from youcard.errors import Conflict, InvalidRequest, NotFound, is_unique_violation
from youcard.models import (
    Child,
    DeviceToken,
    Entitlement,
    Household,
    Issuer,
    Partner,
    PartnerPermission,
    PartnerUser,
    StaffToken,
    StaffUser,
)

DEVICE_TOKEN_PREFIX = "ycd"  # noqa: S105 - a public prefix, not a secret


def _text(value: str, field: str, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidRequest(f"{field} is required.", code="field_required", field=field)
    if len(value) > max_length:
        raise InvalidRequest(f"{field} is too long.", code="field_too_long", field=field)
    return value


MIN_PASSWORD_LENGTH = 12


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            "The password needs at least 12 characters.", code="password_too_short"
        )
    return security.hash_password(password)


ISSUER_ID_PATTERN = re.compile(r"[A-Z]{2}(-[A-Z0-9]+){1,2}")
MAX_ISSUER_ID_LENGTH = 12  # the YC1 credential must fit QR version 8 (DESIGN.md)


def create_issuer(
    session: Session, *, issuer_id: str, name: str, actor: str, now: datetime
) -> Issuer:
    """Register an issuing authority, e.g. `DE-NW-HAMM` "Stadt Hamm"."""
    if len(issuer_id) > MAX_ISSUER_ID_LENGTH or not ISSUER_ID_PATTERN.fullmatch(issuer_id):
        raise InvalidRequest(
            "The issuer id is a country code and up to two parts, e.g. DE-NW-HAMM,"
            " at most 12 characters (it has to fit the card's QR code).",
            code="invalid_issuer_id",
        )
    issuer = Issuer(
        id=_text(issuer_id, "issuer_id", 40), name=_text(name, "name", 200), created_at=now
    )
    session.add(issuer)
    session.flush()
    audit.record(
        session,
        issuer_id=issuer.id,
        actor=actor,
        action="issuer.create",
        object_type="issuer",
        object_id=issuer.id,
        now=now,
        data={"name": issuer.name},
    )
    return issuer


def create_staff_user(
    session: Session,
    *,
    issuer_id: str,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    actor: str,
    now: datetime,
) -> StaffUser:
    """A staff account with an argon2id password hash."""
    user = StaffUser(
        issuer_id=issuer_id,
        username=_text(username, "username", 80).lower(),
        display_name=_text(display_name, "display_name", 200),
        role=role,
        password_hash=_password_hash(password),
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        issuer_id=issuer_id,
        actor=actor,
        action="staff.create",
        object_type="staff_user",
        object_id=user.id,
        now=now,
        data={"username": user.username, "role": role.value},
    )
    return user


def create_household(
    session: Session, *, issuer_id: str, reference: str, family_name: str, actor: str, now: datetime
) -> Household:
    """A family, known by the issuer's reference number (unique per issuer: the database
    decides, so two parallel requests with one reference give one family and one 409)."""
    household = Household(
        issuer_id=issuer_id,
        reference=_text(reference, "reference", 60),
        family_name=_text(family_name, "family_name", 200),
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(household)
    except IntegrityError as error:
        if is_unique_violation(error):
            raise Conflict(
                "This reference number is already in use.", code="reference_taken"
            ) from None
        raise
    audit.record(
        session,
        issuer_id=issuer_id,
        actor=actor,
        action="household.create",
        object_type="household",
        object_id=household.id,
        now=now,
        data={"reference": household.reference},
    )
    return household


def add_child(
    session: Session,
    *,
    household_id: int,
    given_name: str,
    family_name: str,
    birth_date: date,
    actor: str,
    now: datetime,
) -> Child:
    """A child of a household (the beneficiary of entitlements)."""
    household = session.get(Household, household_id)
    if household is None:
        raise NotFound("No such household.", code="household_not_found")
    if birth_date > berlin_date(now):
        raise InvalidRequest("The birth date is in the future.", code="invalid_birth_date")
    child = Child(
        issuer_id=household.issuer_id,
        household_id=household.id,
        given_name=_text(given_name, "given_name", 200),
        family_name=_text(family_name, "family_name", 200),
        birth_date=birth_date,
        created_at=now,
    )
    session.add(child)
    session.flush()
    audit.record(
        session,
        issuer_id=household.issuer_id,
        actor=actor,
        action="child.create",
        object_type="child",
        object_id=child.id,
        now=now,
        data={"household_id": household.id},
    )
    return child


def valid_iban(text: str) -> str:
    """The IBAN in compact form, checked (country format and check digits) by schwifty."""
    try:
        return str(IBAN(text).compact)
    except ValueError:
        raise InvalidRequest("This IBAN is not valid.", code="invalid_iban") from None


def set_issuer_account(
    session: Session, *, issuer_id: str, iban: str, bic: str | None, actor: str, now: datetime
) -> Issuer:
    """The city's account that pays the partners (the debtor of the SEPA transfers)."""
    issuer = session.get(Issuer, issuer_id)
    if issuer is None:
        raise NotFound("No such issuer.", code="issuer_not_found")
    issuer.iban = valid_iban(iban)
    bic = (bic or "").strip().upper() or None
    if bic is not None:
        try:
            bic = str(BIC(bic).compact)
        except ValueError:
            raise InvalidRequest("This BIC is not valid.", code="invalid_bic") from None
    issuer.bic = bic
    session.flush()
    audit.record(
        session,
        issuer_id=issuer_id,
        actor=actor,
        action="issuer.account",
        object_type="issuer",
        object_id=issuer_id,
        now=now,
        data={"iban": issuer.iban, "bic": issuer.bic},
    )
    return issuer


def set_partner_status(
    session: Session,
    *,
    partner_id: int,
    issuer_id: str,
    status: PartnerStatus,
    actor: str,
    now: datetime,
) -> Partner:
    """Approve (activate) or suspend a partner of this issuer."""
    partner = session.get(Partner, partner_id)
    if partner is None or partner.issuer_id != issuer_id:
        raise NotFound("No such partner.", code="partner_not_found")
    partner.status = status
    session.flush()
    audit.record(
        session,
        issuer_id=issuer_id,
        actor=actor,
        action=f"partner.{status.value}",
        object_type="partner",
        object_id=partner.id,
        now=now,
    )
    return partner


def revoke_device_token(
    session: Session, *, device_id: int, issuer_id: str, actor: str, now: datetime
) -> DeviceToken:
    """A device token stops working at once (revoking twice is harmless)."""
    device = session.get(DeviceToken, device_id)
    partner = session.get(Partner, device.partner_id) if device else None
    if device is None or partner is None or partner.issuer_id != issuer_id:
        raise NotFound("No such device.", code="device_not_found")
    if device.revoked_at is None:
        device.revoked_at = now
        session.flush()
        audit.record(
            session,
            issuer_id=issuer_id,
            actor=actor,
            action="device_token.revoke",
            object_type="device_token",
            object_id=device.id,
            now=now,
        )
    return device


def create_partner(
    session: Session,
    *,
    issuer_id: str,
    name: str,
    iban: str,
    permissions: dict[str, set[Category]],
    actor: str,
    now: datetime,
    active: bool = False,
) -> Partner:
    """A provider managed by `issuer_id`, allowed `permissions[issuer] = {categories}`."""
    partner = Partner(
        issuer_id=issuer_id,
        name=_text(name, "name", 200),
        iban=valid_iban(iban),
        status=PartnerStatus.ACTIVE if active else PartnerStatus.PENDING,
        created_at=now,
    )
    partner.permissions = [
        PartnerPermission(issuer_id=perm_issuer, category=category)
        for perm_issuer, categories in sorted(permissions.items())
        for category in sorted(categories)
    ]
    session.add(partner)
    session.flush()
    audit.record(
        session,
        issuer_id=issuer_id,
        actor=actor,
        action="partner.create",
        object_type="partner",
        object_id=partner.id,
        now=now,
        data={
            "name": partner.name,
            "status": partner.status.value,
            "permissions": {k: sorted(c.value for c in v) for k, v in permissions.items()},
        },
    )
    return partner


def create_partner_user(
    session: Session,
    *,
    partner_id: int,
    username: str,
    display_name: str,
    password: str,
    actor: str,
    now: datetime,
) -> PartnerUser:
    """A login for a partner's staff at the scanner page."""
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.", code="partner_not_found")
    user = PartnerUser(
        partner_id=partner.id,
        username=_text(username, "username", 80).lower(),
        display_name=_text(display_name, "display_name", 200),
        password_hash=_password_hash(password),
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        issuer_id=partner.issuer_id,
        actor=actor,
        action="partner_user.create",
        object_type="partner_user",
        object_id=user.id,
        now=now,
        data={"username": user.username},
    )
    return user


@dataclass(frozen=True)
class NewDeviceToken:
    """A device token as created: `token` is shown once and never stored."""

    device: DeviceToken
    token: str


def create_device_token(
    session: Session,
    *,
    partner_id: int,
    name: str,
    actor: str,
    now: datetime,
    token: str | None = None,
) -> NewDeviceToken:
    """A new API token for a partner's scanner device; only its hash is kept."""
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.", code="partner_not_found")
    token = token or security.new_token(DEVICE_TOKEN_PREFIX)
    device = DeviceToken(
        partner_id=partner.id,
        name=_text(name, "name", 100),
        token_hash=security.token_hash(token),
        created_at=now,
    )
    session.add(device)
    session.flush()
    audit.record(
        session,
        issuer_id=partner.issuer_id,
        actor=actor,
        action="device_token.create",
        object_type="device_token",
        object_id=device.id,
        now=now,
        data={"name": device.name},
    )
    return NewDeviceToken(device=device, token=token)


def update_household(
    session: Session,
    *,
    household_id: int,
    issuer_id: str,
    reference: str,
    family_name: str,
    actor: str,
    now: datetime,
) -> Household:
    """Correct a family's reference number or name."""
    household = session.get(Household, household_id)
    if household is None or household.issuer_id != issuer_id:
        raise NotFound("No such household.", code="household_not_found")
    reference = _text(reference, "reference", 60)
    taken = session.scalar(
        select(Household.id).where(
            Household.issuer_id == issuer_id,
            Household.reference == reference,
            Household.id != household.id,
        )
    )
    if taken is not None:
        raise Conflict("This reference number is already in use.", code="reference_taken")
    before = {"reference": household.reference, "family_name": household.family_name}
    try:
        with session.begin_nested():
            household.reference = reference
            household.family_name = _text(family_name, "family_name", 200)
    except IntegrityError as error:
        if is_unique_violation(error):  # taken by a parallel request since the check above
            raise Conflict(
                "This reference number is already in use.", code="reference_taken"
            ) from None
        raise
    audit.record(
        session,
        issuer_id=issuer_id,
        actor=actor,
        action="household.update",
        object_type="household",
        object_id=household.id,
        now=now,
        data={"before": before},
    )
    return household


def update_child(
    session: Session,
    *,
    child_id: int,
    issuer_id: str,
    given_name: str,
    family_name: str,
    birth_date: date,
    actor: str,
    now: datetime,
) -> Child:
    """Correct a child's name or date of birth; budgets that depend on the age follow."""
    child = session.get(Child, child_id)
    if child is None or child.issuer_id != issuer_id:
        raise NotFound("No such child.", code="child_not_found")
    if birth_date > berlin_date(now):
        raise InvalidRequest("The birth date is in the future.", code="invalid_birth_date")
    if birth_date != child.birth_date:
        for entitlement in session.scalars(
            select(Entitlement).where(Entitlement.child_id == child.id).with_for_update()
        ):
            period = budget.effective_period(
                entitlement.valid_from,
                entitlement.valid_until,
                category=entitlement.category,
                birth_date=birth_date,
            )
            cap = budget.cap_cents(entitlement.budget_rule, period) if period else 0
            if cap is not None and entitlement.spent_cents > cap:
                raise Conflict(
                    "With this date of birth more would have been booked than the budget allows.",
                    code="birth_date_conflicts_with_bookings",
                )
            entitlement.cap_cents = cap
    before = {
        "given_name": child.given_name,
        "family_name": child.family_name,
        "birth_date": child.birth_date.isoformat(),
    }
    child.given_name = _text(given_name, "given_name", 200)
    child.family_name = _text(family_name, "family_name", 200)
    child.birth_date = birth_date
    session.flush()
    audit.record(
        session,
        issuer_id=issuer_id,
        actor=actor,
        action="child.update",
        object_type="child",
        object_id=child.id,
        now=now,
        data={"before": before},
    )
    return child


STAFF_TOKEN_PREFIX = "ycs"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True)
class NewStaffToken:
    """A staff API token as created: `token` is shown once and never stored."""

    row: StaffToken
    token: str


def create_staff_token(
    session: Session, *, username: str, name: str, actor: str, now: datetime
) -> NewStaffToken:
    """A new API token acting as the staff member `username` (with that member's role)."""
    user = session.scalars(select(StaffUser).where(StaffUser.username == username.lower())).first()
    if user is None or not user.active:
        raise NotFound("No such staff member.", code="staff_not_found")
    token = security.new_token(STAFF_TOKEN_PREFIX)
    row = StaffToken(
        issuer_id=user.issuer_id,
        staff_user_id=user.id,
        name=_text(name, "name", 100),
        token_hash=security.token_hash(token),
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        issuer_id=user.issuer_id,
        actor=actor,
        action="staff_token.create",
        object_type="staff_token",
        object_id=row.id,
        now=now,
        data={"name": row.name},
    )
    return NewStaffToken(row=row, token=token)


def set_partner_permissions(
    session: Session,
    *,
    partner_id: int,
    issuer_id: str,
    categories: set[Category],
    actor: str,
    now: datetime,
) -> Partner:
    """What the partner may book on `issuer_id`'s cards: only that issuer decides this.

    A partner registered by another issuer can be accepted here too (a club in the
    neighbouring town); an empty set withdraws the acceptance.
    """
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.", code="partner_not_found")
    kept = [p for p in partner.permissions if p.issuer_id != issuer_id]
    partner.permissions = kept + [
        PartnerPermission(issuer_id=issuer_id, category=c) for c in sorted(categories)
    ]
    session.flush()
    audit.record(
        session,
        issuer_id=issuer_id,
        actor=actor,
        action="partner.permissions",
        object_type="partner",
        object_id=partner.id,
        now=now,
        data={"categories": sorted(c.value for c in categories)},
    )
    return partner
