"""Families (households) and their children: record and correct them.

Each operation takes the acting principal (`by`) and decides itself: the role (RECORDERS)
and the tenant (a household or child of another issuer is "not found").
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from youcard import audit
from youcard.clock import berlin_date
from youcard.db import Session, refusing_duplicates
from youcard.domain import budget
from youcard.domain.contacts import Contact
from youcard.domain.models import (
    Child,
    Entitlement,
    Household,
)
from youcard.errors import Conflict, InvalidRequest
from youcard.operations.contacts import apply_contact
from youcard.operations.values import clean_name, clean_text
from youcard.policy import RECORDERS, Staff, require_role
from youcard.tenancy import owned

MAX_AGE_YEARS = 25  # benefits for education and participation end at 25


def refuse_implausible_birth_date(birth_date: date, today: date) -> None:
    """InvalidRequest for a birth date in the future or more than 25 years back."""
    if birth_date > today:
        raise InvalidRequest("The birth date is in the future.", code="invalid_birth_date")
    if birth_date <= budget.add_months(today, -12 * MAX_AGE_YEARS):
        raise InvalidRequest(
            "With this birth date the child would be older than 25.", code="child_over_25"
        )


def _reference_taken() -> Conflict:
    return Conflict("This reference number is already in use.", code="reference_taken")


def create_household(
    session: Session,
    *,
    by: Staff,
    reference: str,
    family_name: str,
    now: datetime,
    contact: Contact | None = None,
) -> Household:
    """A family, known by the issuer's reference number (unique per issuer: the database
    decides, so two parallel requests with one reference give one family and one 409),
    with its address, e-mail, phone and language where given."""
    require_role(by, RECORDERS, "record families")
    household = Household(
        issuer_id=by.issuer_id,
        reference=clean_text(reference, "reference", 60),
        family_name=clean_name(family_name, "family_name"),
        created_at=now,
    )
    apply_contact(household, contact or Contact())
    with refusing_duplicates(session, _reference_taken):
        session.add(household)
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
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
    by: Staff,
    household_id: int,
    given_name: str,
    family_name: str,
    birth_date: date,
    now: datetime,
) -> Child:
    """A child of a household of the principal's issuer (the beneficiary of entitlements)."""
    require_role(by, RECORDERS, "record children")
    household = owned(session, by, Household, household_id, "household")
    refuse_implausible_birth_date(birth_date, berlin_date(now))
    child = Child(
        issuer_id=household.issuer_id,
        household_id=household.id,
        given_name=clean_name(given_name, "given_name"),
        family_name=clean_name(family_name, "family_name"),
        birth_date=birth_date,
        created_at=now,
    )
    session.add(child)
    session.flush()
    audit.record(
        session,
        issuer_id=household.issuer_id,
        actor=by.actor,
        action="child.create",
        object_type="child",
        object_id=child.id,
        now=now,
        data={"household_id": household.id},
    )
    return child


def update_household(
    session: Session,
    *,
    by: Staff,
    household_id: int,
    reference: str,
    family_name: str,
    now: datetime,
    contact: Contact | None = None,
) -> Household:
    """Correct a family's reference number, name and (when given) contact (the reference
    stays unique per issuer: the database decides). The audit log names the fields that
    changed, never their values (the chain cannot be rewritten, and names must be erasable:
    youcard.privacy.retention)."""
    require_role(by, RECORDERS, "correct families")
    household = owned(session, by, Household, household_id, "household")
    reference = clean_text(reference, "reference", 60)
    before = {"reference": household.reference, "family_name": household.family_name}
    changed = apply_contact(household, contact) if contact is not None else []
    with refusing_duplicates(session, _reference_taken):
        household.reference = reference
        household.family_name = clean_name(family_name, "family_name")
    after = {"reference": household.reference, "family_name": household.family_name}
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="household.update",
        object_type="household",
        object_id=household.id,
        now=now,
        data={"changed": [name for name in before if before[name] != after[name]]}
        | ({"contact_changed": changed} if changed else {}),
    )
    return household


def update_child(
    session: Session,
    *,
    by: Staff,
    child_id: int,
    given_name: str,
    family_name: str,
    birth_date: date,
    now: datetime,
) -> Child:
    """Correct a child's name or date of birth; budgets that depend on the age follow."""
    require_role(by, RECORDERS, "correct children")
    child = owned(session, by, Child, child_id, "child")
    refuse_implausible_birth_date(birth_date, berlin_date(now))
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
    before = (child.given_name, child.family_name, child.birth_date)
    child.given_name = clean_name(given_name, "given_name")
    child.family_name = clean_name(family_name, "family_name")
    child.birth_date = birth_date
    after = (child.given_name, child.family_name, child.birth_date)
    names = ("given_name", "family_name", "birth_date")
    session.flush()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="child.update",
        object_type="child",
        object_id=child.id,
        now=now,
        data={"changed": [n for n, b, a in zip(names, before, after, strict=True) if b != a]},
    )
    return child
