"""What an approvals file would do, line by line, against what is stored (the dry run): a
line creates, updates, changes nothing, ends, or is refused with its reason. Reads only.

DESIGN.md's rules: the key is `decision_ref`; the same line again changes nothing; a changed
line updates its entitlement where the bookings allow it; `ended` ends it at `valid_until`,
never before what is already booked; an unknown `child_ref` creates household and child; a
known `child_ref` whose name or birth date differs is a conflict, never overwritten.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from youcard import budget
from youcard.db import Session
from youcard.enums import BookingKind, EntitlementStatus
from youcard.errors import DomainError
from youcard.imports.approvals_file import ApprovalLine, LineRefusal
from youcard.models import Booking, Child, Entitlement
from youcard.operations.entitlements import refuse_implausible_period
from youcard.operations.households import refuse_implausible_birth_date
from youcard.policy import ALL_STAFF, Staff, require_role
from youcard.search import fold

OUTCOMES = ("created", "updated", "unchanged", "ended", "refused")
_LIVE = (EntitlementStatus.RECORDED, EntitlementStatus.APPROVED)
_CHUNK = 1_000  # keys looked up per query


@dataclass(frozen=True)
class LinePlan:
    """What one line would do."""

    number: int
    decision_ref: str
    outcome: str  # one of OUTCOMES
    code: str = ""
    message: str = ""


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _same_rule(entitlement: Entitlement, line: ApprovalLine) -> bool:
    rule = line.rule
    return (
        entitlement.rule is rule.kind
        and entitlement.amount_cents == rule.amount_cents
        and entitlement.units_total == rule.units_total
        and entitlement.units_per_day == rule.units_per_day
    )


def _last_booked_day(session: Session, entitlement_id: int) -> date | None:
    return session.scalar(
        select(func.max(Booking.service_date)).where(
            Booking.entitlement_id == entitlement_id, Booking.kind == BookingKind.BOOKING
        )
    )


def plan_import(
    session: Session,
    *,
    by: Staff,
    lines: Sequence[ApprovalLine],
    refusals: Sequence[LineRefusal],
    today: date,
) -> list[LinePlan]:
    """Every line's outcome, in file order (the principal's issuer; staff who record or
    confirm imports)."""
    require_role(by, ALL_STAFF, "check imports")
    plans = {r.number: LinePlan(r.number, r.decision_ref, "refused", r.code, r.message)
             for r in refusals}  # fmt: skip
    children: dict[str, Child] = {}
    child_refs = sorted({line.child_ref for line in lines})
    for chunk in _chunks(child_refs):
        for child in session.scalars(
            select(Child).where(Child.issuer_id == by.issuer_id, Child.child_ref.in_(chunk))
        ):
            children[child.child_ref or ""] = child
    decisions: dict[str, Entitlement] = {}
    for chunk in _chunks(sorted({line.decision_ref for line in lines})):
        for entitlement in session.scalars(
            select(Entitlement).where(
                Entitlement.issuer_id == by.issuer_id, Entitlement.decision_ref.in_(chunk)
            )
        ):
            decisions[entitlement.decision_ref or ""] = entitlement
    in_file: dict[tuple[str, str], list[tuple[date, date, int]]] = {}
    for line in lines:
        plans[line.number] = _plan_line(session, line, children, decisions, in_file, today)
    return [plans[number] for number in sorted(plans)]


def _refused(line: ApprovalLine, code: str, message: str) -> LinePlan:
    return LinePlan(line.number, line.decision_ref, "refused", code, message)


def _plan_line(
    session: Session,
    line: ApprovalLine,
    children: dict[str, Child],
    decisions: dict[str, Entitlement],
    in_file: dict[tuple[str, str], list[tuple[date, date, int]]],
    today: date,
) -> LinePlan:
    try:
        refuse_implausible_birth_date(line.birth_date, today)
    except DomainError as error:
        return _refused(line, error.code, error.message)
    child = children.get(line.child_ref)
    if child is not None and (
        fold(child.given_name) != fold(line.given_name)
        or fold(child.family_name) != fold(line.family_name)
        or child.birth_date != line.birth_date
    ):
        return _refused(
            line,
            "child_conflict",
            f"child_ref {line.child_ref} is stored with another name or birth date; correct "
            "one side, nothing is overwritten.",
        )
    existing = decisions.get(line.decision_ref)
    if existing is not None and (child is None or existing.child_id != child.id):
        return _refused(
            line, "decision_of_another_child", "This decision belongs to another child."
        )
    if line.status == "ended":
        return _plan_end(session, line, existing)
    if existing is None:
        try:
            refuse_implausible_period(line.category, line.valid_from, line.valid_until, today)
        except DomainError as error:
            return _refused(line, error.code, error.message)
        clash = _overlap(session, line, child, in_file)
        if clash:
            return _refused(line, "overlapping_entitlement", clash)
        return LinePlan(line.number, line.decision_ref, "created")
    if existing.status not in _LIVE:
        return _refused(line, "not_live", "This decision was rejected or revoked in YouCard.")
    if (
        existing.category is line.category
        and existing.valid_from == line.valid_from
        and existing.valid_until == line.valid_until
        and _same_rule(existing, line)
    ):
        return LinePlan(line.number, line.decision_ref, "unchanged")
    if existing.category is not line.category:
        return _refused(line, "category_changed", "A decision cannot change its category.")
    period = budget.effective_period(
        line.valid_from, line.valid_until, category=line.category, birth_date=line.birth_date
    )
    cap = budget.cap_cents(line.rule, period) if period else 0
    last = _last_booked_day(session, existing.id)
    if (cap is not None and existing.spent_cents > cap) or (
        last is not None and not line.valid_from <= last <= line.valid_until
    ):
        return _refused(
            line,
            "below_booked",
            "More is booked, or booked outside the new period, than it allows.",
        )
    return LinePlan(line.number, line.decision_ref, "updated")


def _plan_end(session: Session, line: ApprovalLine, existing: Entitlement | None) -> LinePlan:
    if existing is None:
        return _refused(line, "unknown_decision", "An ended line needs a decision YouCard has.")
    if existing.valid_until == line.valid_until:
        return LinePlan(line.number, line.decision_ref, "unchanged")
    last = _last_booked_day(session, existing.id)
    if line.valid_until < existing.valid_from or (last is not None and line.valid_until < last):
        return _refused(
            line,
            "end_before_bookings",
            f"It cannot end on {line.valid_until:%d.%m.%Y}: booked until {last:%d.%m.%Y}."
            if last
            else "It cannot end before it starts.",
        )
    period = budget.effective_period(
        existing.valid_from, line.valid_until, category=existing.category,
        birth_date=line.birth_date,
    )  # fmt: skip
    cap = budget.cap_cents(existing.budget_rule, period) if period else 0
    if cap is not None and existing.spent_cents > cap:
        return _refused(line, "below_booked", "More is booked than the shorter period allows.")
    return LinePlan(line.number, line.decision_ref, "ended")


def _overlap(
    session: Session,
    line: ApprovalLine,
    child: Child | None,
    in_file: dict[tuple[str, str], list[tuple[date, date, int]]],
) -> str:
    """Why the new benefit would share a day with another of the child's in its category
    (stored, or an earlier line of the file); empty when it does not."""
    key = (line.child_ref, line.category.value)
    for start, end, number in in_file.get(key, []):
        if start <= line.valid_until and end >= line.valid_from:
            return f"Line {number} of this file gives the child this benefit on some of these days."
    in_file.setdefault(key, []).append((line.valid_from, line.valid_until, line.number))
    if child is None:
        return ""
    clash = session.execute(
        select(Entitlement.valid_from, Entitlement.valid_until).where(
            Entitlement.child_id == child.id,
            Entitlement.category == line.category,
            Entitlement.status.in_(_LIVE),
            Entitlement.valid_from <= line.valid_until,
            Entitlement.valid_until >= line.valid_from,
        )
    ).first()
    if clash is None:
        return ""
    return (
        f"The child already has this benefit from {clash.valid_from:%d.%m.%Y} to "
        f"{clash.valid_until:%d.%m.%Y}."
    )


def summary(plans: Sequence[LinePlan]) -> dict[str, int]:
    """How many lines of each outcome."""
    counts = Counter(plan.outcome for plan in plans)
    return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}


def report_csv(plans: Sequence[LinePlan]) -> str:
    """The report as semicolon CSV (German spreadsheets): line, decision_ref, outcome, reason.
    Cells that a spreadsheet would take for a formula are quoted with a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["line", "decision_ref", "outcome", "code", "reason"])
    for plan in plans:
        writer.writerow(
            [plan.number, _cell(plan.decision_ref), plan.outcome, plan.code, _cell(plan.message)]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
