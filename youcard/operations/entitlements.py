"""Record, approve, reject and revoke entitlements (four eyes), and read what is left."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from youcard import audit, budget
from youcard.budget import BudgetRule, Period
from youcard.clock import berlin_date
from youcard.db import Session
from youcard.enums import Accrual, Category, EntitlementStatus, RuleKind
from youcard.errors import Conflict, FourEyesViolation, InvalidRequest, NotFound
from youcard.models import Child, Entitlement, StaffUser
from youcard.policy import DECIDERS, RECORDERS, require_role

MAX_REASON_LENGTH = 500

DEFAULT_RULES: dict[Category, BudgetRule] = {
    # 15 EUR per month of the approval period, may be saved up (§ 28 Abs. 7 SGB II).
    Category.PARTICIPATION: BudgetRule(RuleKind.MONTHLY, 1500, Accrual.ACCRUE),
    # Actual cost of one meal per day, capped per meal.
    Category.LUNCH: BudgetRule(RuleKind.UNITS, 500, units_per_day=1),
    # Tutoring hours at a capped rate, e.g. 35 hours per school year.
    Category.TUTORING: BudgetRule(RuleKind.UNITS, 2500, units_total=35),
}


def default_rule(category: Category) -> BudgetRule | None:
    """The usual rule of a category; None for trips, whose total is decided case by case."""
    return DEFAULT_RULES.get(category)


def rule_from_amount(category: Category, amount_cents: int | None) -> BudgetRule:
    """The rule a benefit recorded by hand gets (page and staff API alike): trips the approved
    total, which they need; every other category its usual rule, and no amount of its own."""
    if category is Category.TRIPS:
        if amount_cents is None:
            raise InvalidRequest("Trips need the approved amount.", code="rule_required")
        return BudgetRule(RuleKind.TOTAL, amount_cents)
    if amount_cents is not None:
        raise InvalidRequest(
            "Only trips are approved with an amount; this category has its usual rule.",
            code="amount_not_for_category",
        )
    rule = default_rule(category)
    assert rule is not None  # every category but trips has one
    return rule


def usable_period(entitlement: Entitlement, birth_date: date | None) -> Period | None:
    """The days the entitlement can be used (participation stops before the 18th birthday)."""
    return budget.effective_period(
        entitlement.valid_from,
        entitlement.valid_until,
        category=entitlement.category,
        birth_date=birth_date,
    )


def availability(entitlement: Entitlement, birth_date: date | None, on: date) -> budget.Available:
    """What is left of the entitlement on day `on` (nothing outside its usable period)."""
    period = usable_period(entitlement, birth_date)
    if period is None or on > period.end:
        return budget.Available(cents=0, units=0 if entitlement.units_total else None)
    return budget.available(
        entitlement.budget_rule,
        period,
        on,
        spent_cents=entitlement.spent_cents,
        spent_units=entitlement.spent_units,
    )


def _reason(reason: str | None, *, required: bool) -> str | None:
    reason = (reason or "").strip() or None
    if required and reason is None:
        raise InvalidRequest("A reason is required.", code="reason_required")
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise InvalidRequest("The reason is too long.", code="reason_too_long")
    return reason


_PENDING_OR_GRANTED = (EntitlementStatus.RECORDED, EntitlementStatus.APPROVED)


def refuse_overlap(
    session: Session,
    *,
    child_id: int,
    category: Category,
    valid_from: date,
    valid_until: date,
    exclude_id: int | None = None,
) -> None:
    """One benefit per child, category and day (docs/budget-rules.md): Conflict
    `overlapping_entitlement` when a recorded or approved entitlement of the child in the
    category shares a day with the period. The child's row is locked first, so two parallel
    requests cannot both pass."""
    session.execute(select(Child.id).where(Child.id == child_id).with_for_update()).all()
    query = select(Entitlement.valid_from, Entitlement.valid_until).where(
        Entitlement.child_id == child_id,
        Entitlement.category == category,
        Entitlement.status.in_(_PENDING_OR_GRANTED),
        Entitlement.valid_from <= valid_until,
        Entitlement.valid_until >= valid_from,
    )
    if exclude_id is not None:
        query = query.where(Entitlement.id != exclude_id)
    clash = session.execute(query.limit(1)).first()
    if clash is not None:
        raise Conflict(
            f"The child already has this benefit from {clash.valid_from:%d.%m.%Y} to "
            f"{clash.valid_until:%d.%m.%Y}; a follow-up starts the day after it ends.",
            code="overlapping_entitlement",
            valid_from=clash.valid_from,
            valid_until=clash.valid_until,
        )


# Plausibility (refused, with the reason in words; the rules are silent, the office decides
# longer or older cases in two records): an approval lasts at most 12 months, starts at most
# 12 months back, and tutoring ends with the school year (31 July, in every German state).
MAX_PERIOD_MONTHS = 12
MAX_BACKDATING_MONTHS = 12


def school_year_end(day: date) -> date:
    """The last day of the school year `day` lies in (31 July)."""
    return date(day.year if day.month <= 7 else day.year + 1, 7, 31)


def refuse_implausible_period(
    category: Category, valid_from: date, valid_until: date, today: date
) -> None:
    """InvalidRequest for a period that is most likely a typo (see above)."""
    if valid_until >= budget.add_months(valid_from, MAX_PERIOD_MONTHS):
        raise InvalidRequest("An approval lasts at most 12 months.", code="period_too_long")
    if valid_from < budget.add_months(today, -MAX_BACKDATING_MONTHS):
        raise InvalidRequest(
            "An approval starts at most 12 months back.", code="period_starts_too_early"
        )
    if category is Category.TUTORING and valid_until > school_year_end(valid_from):
        raise InvalidRequest(
            "Tutoring is approved until the end of the school year (31 July) at most.",
            code="tutoring_beyond_school_year",
        )


def record_entitlement(
    session: Session,
    *,
    child_id: int,
    category: Category,
    valid_from: date,
    valid_until: date,
    recorded_by: StaffUser,
    now: datetime,
    rule: BudgetRule | None = None,
) -> Entitlement:
    """Record an entitlement for a child (status `recorded`, awaiting another's approval)."""
    require_role(recorded_by, RECORDERS, "record entitlements")
    child = session.get(Child, child_id)
    if child is None or child.issuer_id != recorded_by.issuer_id:
        raise NotFound("No such child.", code="child_not_found")
    rule = rule or default_rule(category)
    if rule is None:
        raise InvalidRequest("This category needs an amount.", code="rule_required")
    if valid_until < valid_from:
        raise InvalidRequest("The period ends before it starts.", code="invalid_period")
    refuse_implausible_period(category, valid_from, valid_until, berlin_date(now))
    period = budget.effective_period(
        valid_from, valid_until, category=category, birth_date=child.birth_date
    )
    if period is None:
        raise InvalidRequest("The child is 18 before the period starts.", code="child_too_old")
    refuse_overlap(
        session,
        child_id=child.id,
        category=category,
        valid_from=valid_from,
        valid_until=valid_until,
    )
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
        cap_cents=budget.cap_cents(rule, period),
        spent_cents=0,
        spent_units=0,
        recorded_by_id=recorded_by.id,
        recorded_at=now,
    )
    session.add(entitlement)
    session.flush()
    audit.record(
        session,
        issuer_id=child.issuer_id,
        actor=f"staff:{recorded_by.id}",
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


def _load_for_decision(session: Session, entitlement_id: int, staff: StaffUser) -> Entitlement:
    entitlement = session.scalars(
        select(Entitlement).where(Entitlement.id == entitlement_id).with_for_update()
    ).one_or_none()
    if entitlement is None or entitlement.issuer_id != staff.issuer_id:
        raise NotFound("No such entitlement.", code="entitlement_not_found")
    return entitlement


def decide_entitlement(
    session: Session,
    *,
    entitlement_id: int,
    approve: bool,
    decided_by: StaffUser,
    now: datetime,
    reason: str | None = None,
) -> Entitlement:
    """Approve or reject a recorded entitlement; never by the one who recorded it."""
    require_role(decided_by, DECIDERS, "approve or reject entitlements")
    entitlement = _load_for_decision(session, entitlement_id, decided_by)
    if entitlement.recorded_by_id == decided_by.id:
        raise FourEyesViolation("You recorded this entitlement: another person must decide.")
    if entitlement.status is not EntitlementStatus.RECORDED:
        raise Conflict("This entitlement was already decided.", code="already_decided")
    reason = _reason(reason, required=not approve)
    if approve:  # recorded before the rule existed, or beside another one still pending
        refuse_overlap(
            session,
            child_id=entitlement.child_id,
            category=entitlement.category,
            valid_from=entitlement.valid_from,
            valid_until=entitlement.valid_until,
            exclude_id=entitlement.id,
        )
    entitlement.status = EntitlementStatus.APPROVED if approve else EntitlementStatus.REJECTED
    entitlement.decided_by_id = decided_by.id
    entitlement.decided_at = now
    entitlement.decision_reason = reason
    session.flush()
    audit.record(
        session,
        issuer_id=entitlement.issuer_id,
        actor=f"staff:{decided_by.id}",
        action="entitlement.approve" if approve else "entitlement.reject",
        object_type="entitlement",
        object_id=entitlement.id,
        now=now,
        data={"reason": reason},
    )
    return entitlement


def approve_entitlement(
    session: Session, *, entitlement_id: int, approved_by: StaffUser, now: datetime
) -> Entitlement:
    """Approve a recorded entitlement (four eyes)."""
    return decide_entitlement(
        session, entitlement_id=entitlement_id, approve=True, decided_by=approved_by, now=now
    )


def reject_entitlement(
    session: Session, *, entitlement_id: int, rejected_by: StaffUser, reason: str, now: datetime
) -> Entitlement:
    """Reject a recorded entitlement with a reason (four eyes)."""
    return decide_entitlement(
        session,
        entitlement_id=entitlement_id,
        approve=False,
        decided_by=rejected_by,
        now=now,
        reason=reason,
    )


def revoke_entitlement(
    session: Session, *, entitlement_id: int, revoked_by: StaffUser, reason: str, now: datetime
) -> Entitlement:
    """Revoke an approved entitlement: no booking on it from now on."""
    require_role(revoked_by, DECIDERS, "revoke entitlements")
    entitlement = _load_for_decision(session, entitlement_id, revoked_by)
    if entitlement.status is not EntitlementStatus.APPROVED:
        raise Conflict("Only an approved entitlement can be revoked.", code="not_approved")
    entitlement.status = EntitlementStatus.REVOKED
    entitlement.revoked_by_id = revoked_by.id
    entitlement.revoked_at = now
    entitlement.revoke_reason = _reason(reason, required=True)
    session.flush()
    audit.record(
        session,
        issuer_id=entitlement.issuer_id,
        actor=f"staff:{revoked_by.id}",
        action="entitlement.revoke",
        object_type="entitlement",
        object_id=entitlement.id,
        now=now,
        data={"reason": entitlement.revoke_reason},
    )
    return entitlement
