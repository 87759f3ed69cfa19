"""Record, approve, reject and revoke entitlements (four eyes), and read what is left."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from youcard import audit
from youcard.clock import berlin_date
from youcard.db import Session
from youcard.domain.budget import BudgetRule
from youcard.domain.entitlement_rules import (
    decide_new,
    default_rule,
    refuse_overlap,
)
from youcard.domain.enums import Category, EntitlementStatus, Role
from youcard.domain.models import Child, Entitlement, Household
from youcard.errors import Conflict, Forbidden, FourEyesViolation, InvalidRequest, NotFound
from youcard.messages import events as messages
from youcard.operations.family import code_for_message
from youcard.policy import DECIDERS, RECORDERS, Staff, require_role

MAX_REASON_LENGTH = 500


def _reason(reason: str | None, *, required: bool) -> str | None:
    reason = (reason or "").strip() or None
    if required and reason is None:
        raise InvalidRequest("A reason is required.", code="reason_required")
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise InvalidRequest("The reason is too long.", code="reason_too_long")
    return reason


_PENDING_OR_GRANTED = (EntitlementStatus.RECORDED, EntitlementStatus.APPROVED)


def taken_periods(
    session: Session,
    *,
    child_id: int,
    category: Category,
    exclude_id: int | None = None,
    lock: bool = True,
) -> list[tuple[date, date]]:
    """The periods of the child's recorded or approved benefits in the category (for the
    one-benefit-a-day rule, entitlement_rules.refuse_overlap). The child's row is locked
    first (`lock`), so two parallel writes cannot both pass; a plan that only reads does
    without."""
    if lock:
        session.execute(select(Child.id).where(Child.id == child_id).with_for_update()).all()
    query = select(Entitlement.valid_from, Entitlement.valid_until).where(
        Entitlement.child_id == child_id,
        Entitlement.category == category,
        Entitlement.status.in_(_PENDING_OR_GRANTED),
    )
    if exclude_id is not None:
        query = query.where(Entitlement.id != exclude_id)
    return [(row.valid_from, row.valid_until) for row in session.execute(query)]


def record_entitlement(
    session: Session,
    *,
    child_id: int,
    category: Category,
    valid_from: date,
    valid_until: date,
    by: Staff,
    now: datetime,
    rule: BudgetRule | None = None,
) -> Entitlement:
    """Record an entitlement for a child (status `recorded`, awaiting another's approval)."""
    recorder = _person(by, RECORDERS, "record entitlements")
    child = session.get(Child, child_id)
    if child is None or child.issuer_id != by.issuer_id:
        raise NotFound("No such child.", code="child_not_found")
    decided = decide_new(
        category=category,
        valid_from=valid_from,
        valid_until=valid_until,
        rule=rule or default_rule(category),
        birth_date=child.birth_date,
        today=berlin_date(now),
        taken=taken_periods(session, child_id=child.id, category=category),
    )
    rule = decided.rule
    entitlement = Entitlement(
        issuer_id=child.issuer_id,
        child_id=child.id,
        category=category,
        status=EntitlementStatus.RECORDED,
        valid_from=valid_from,
        valid_until=valid_until,
        rule=rule.kind,
        accrual=rule.accrual,
        amount_cents=rule.amount_cents,
        units_total=rule.units_total,
        units_per_day=rule.units_per_day,
        cap_cents=decided.cap_cents,
        spent_cents=0,
        spent_units=0,
        recorded_by_id=recorder,
        recorded_at=now,
    )
    session.add(entitlement)
    session.flush()
    audit.record(
        session,
        issuer_id=child.issuer_id,
        actor=by.actor,
        action="entitlement.record",
        object_type="entitlement",
        object_id=entitlement.id,
        now=now,
        data={
            "child_id": child.id,
            "category": category.value,
            "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat(),
            "rule": rule.kind.value,
            "amount_cents": rule.amount_cents,
        },
    )
    return entitlement


def _person(by: Staff, roles: frozenset[Role], what: str) -> int:
    """The staff account of `by`, who may do `what`: a benefit is recorded and decided by
    people (four eyes), never by the system."""
    require_role(by, roles, what)
    if by.person is None:
        raise Forbidden(
            "A benefit is recorded and decided by a person, not the system.",
            code="role_not_permitted",
        )
    return by.person


def _load_for_decision(session: Session, entitlement_id: int, staff: Staff) -> Entitlement:
    return _load_with_family(session, entitlement_id, staff)[0]


def _load_with_family(
    session: Session, entitlement_id: int, staff: Staff
) -> tuple[Entitlement, Child, Household]:
    """The entitlement, locked, with its child and household (one round trip: the approval
    tells the family)."""
    row = session.execute(
        select(Entitlement, Child, Household)
        .join(Child, Child.id == Entitlement.child_id)
        .join(Household, Household.id == Child.household_id)
        .where(Entitlement.id == entitlement_id)
        .with_for_update(of=Entitlement)
    ).one_or_none()
    if row is None or row[0].issuer_id != staff.issuer_id:
        raise NotFound("No such entitlement.", code="entitlement_not_found")
    return row[0], row[1], row[2]


def decide_entitlement(
    session: Session,
    *,
    entitlement_id: int,
    approve: bool,
    by: Staff,
    now: datetime,
    kek: bytes | None,
    reason: str | None = None,
) -> Entitlement:
    """Approve or reject a recorded entitlement; never by the one who recorded it. An
    approval is told to the family where it has an address that works, with a first access
    code when it has none (kept sealed with `kek`, the issuer's key-encryption key, until
    sent; None: the message carries no code and the letter brings one)."""
    decider = _person(by, DECIDERS, "approve or reject entitlements")
    entitlement, child, household = _load_with_family(session, entitlement_id, by)
    if entitlement.recorded_by_id == decider:
        raise FourEyesViolation("You recorded this entitlement: another person must decide.")
    if entitlement.status is not EntitlementStatus.RECORDED:
        raise Conflict("This entitlement was already decided.", code="already_decided")
    reason = _reason(reason, required=not approve)
    if approve:  # recorded before the rule existed, or beside another one still pending
        taken = taken_periods(
            session,
            child_id=entitlement.child_id,
            category=entitlement.category,
            exclude_id=entitlement.id,
        )
        refuse_overlap(entitlement.valid_from, entitlement.valid_until, taken)
    entitlement.status = EntitlementStatus.APPROVED if approve else EntitlementStatus.REJECTED
    entitlement.decided_by_id = decider
    entitlement.decided_at = now
    entitlement.decision_reason = reason
    session.flush()
    data: dict[str, object] = {"reason": reason}
    if approve and _tell_approved(session, entitlement, child, household, by, now, kek):
        data["access_code"] = "made for the approval message"
    audit.record(
        session,
        issuer_id=entitlement.issuer_id,
        actor=by.actor,
        action="entitlement.approve" if approve else "entitlement.reject",
        object_type="entitlement",
        object_id=entitlement.id,
        now=now,
        data=data,
    )
    return entitlement


def _tell_approved(
    session: Session,
    entitlement: Entitlement,
    child: Child,
    household: Household,
    by: Staff,
    now: datetime,
    kek: bytes | None,
) -> bool:
    """Queue the approval message where the family can be reached: whether a first access
    code was made for it."""
    if not messages.reaches(household, "benefit_approved"):
        return False
    code = None
    if kek is not None and household.access_code_hash is None:
        code = code_for_message(session, household, by=by, now=now)
    messages.benefit_approved(session, entitlement, child, household, now, code=code, kek=kek)
    return code is not None


def approve_entitlement(
    session: Session, *, entitlement_id: int, by: Staff, now: datetime, kek: bytes | None
) -> Entitlement:
    """Approve a recorded entitlement (four eyes); `kek` as for decide_entitlement."""
    return decide_entitlement(
        session, entitlement_id=entitlement_id, approve=True, by=by, now=now, kek=kek
    )


def revoke_entitlement(
    session: Session, *, entitlement_id: int, by: Staff, reason: str, now: datetime
) -> Entitlement:
    """Revoke an approved entitlement: no booking on it from now on."""
    revoker = _person(by, DECIDERS, "revoke entitlements")
    entitlement = _load_for_decision(session, entitlement_id, by)
    if entitlement.status is not EntitlementStatus.APPROVED:
        raise Conflict("Only an approved entitlement can be revoked.", code="not_approved")
    entitlement.status = EntitlementStatus.REVOKED
    entitlement.revoked_by_id = revoker
    entitlement.revoked_at = now
    entitlement.revoke_reason = _reason(reason, required=True)
    session.flush()
    audit.record(
        session,
        issuer_id=entitlement.issuer_id,
        actor=by.actor,
        action="entitlement.revoke",
        object_type="entitlement",
        object_id=entitlement.id,
        now=now,
        data={"reason": entitlement.revoke_reason},
    )
    return entitlement
