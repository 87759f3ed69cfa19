"""What an approvals file would do, line by line, against what is stored (the dry run): a
line creates, updates, changes nothing, ends, or is refused with its reason. Reads only.

docs/imports.md's rules: the key is `decision_ref`; the same line again changes nothing; a changed
line updates its entitlement where the bookings allow it; `ended` ends it at `valid_until`,
never before what is already booked; an unknown `child_ref` creates household and child; a
known `child_ref` whose name or birth date differs is a conflict, never overwritten.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from youcard.db import Session, among
from youcard.documents.spreadsheets import csv_lines, csv_text
from youcard.domain.budget import BudgetRule
from youcard.domain.entitlement_rules import decide_end, decide_new, decide_update
from youcard.domain.enums import BookingKind, EntitlementStatus
from youcard.domain.models import Booking, Child, Entitlement
from youcard.domain.search import fold
from youcard.errors import DomainError
from youcard.imports.approvals_file import ApprovalLine, LineRefusal
from youcard.imports.earlier import (
    Earlier,
    EarlierLine,
    RememberedEarlier,
    child_key,
    chunks,
    earlier_line,
)
from youcard.operations.entitlements import taken_periods
from youcard.operations.households import refuse_implausible_birth_date
from youcard.policy import ALL_STAFF, Staff, require_role

OUTCOMES = ("created", "updated", "unchanged", "ended", "refused")
_LIVE = (EntitlementStatus.RECORDED, EntitlementStatus.APPROVED)
_CHILD = (Child.id, Child.child_ref, Child.given_name, Child.family_name, Child.birth_date)
_DECISION = (
    Entitlement.id,
    Entitlement.child_id,
    Entitlement.decision_ref,
    Entitlement.status,
    Entitlement.category,
    Entitlement.valid_from,
    Entitlement.valid_until,
    Entitlement.rule,
    Entitlement.accrual,
    Entitlement.amount_cents,
    Entitlement.units_total,
    Entitlement.units_per_day,
    Entitlement.spent_cents,
)


@dataclass(frozen=True)
class LinePlan:
    """What one line would do."""

    number: int
    decision_ref: str
    outcome: str  # one of OUTCOMES
    code: str = ""
    message: str = ""
    cap_cents: int | None = None  # created, updated, ended: the cap its rules decided


def _rule_of(entitlement: Any) -> BudgetRule:
    return BudgetRule(
        entitlement.rule,
        entitlement.amount_cents,
        entitlement.accrual,
        entitlement.units_total,
        entitlement.units_per_day,
    )


def _same_rule(entitlement: Any, line: ApprovalLine) -> bool:
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


class Planner:
    """Plans a file chunk by chunk (docs/imports.md's rules, above), each chunk with a few
    queries, later chunks checked against earlier ones (`earlier`)."""

    def __init__(
        self, session: Session, *, by: Staff, today: date, earlier: Earlier | None = None
    ) -> None:
        require_role(by, ALL_STAFF, "check imports")
        self.session, self.by, self.today = session, by, today
        self.earlier = earlier if earlier is not None else RememberedEarlier()

    def plan(
        self, lines: Sequence[ApprovalLine], refusals: Sequence[LineRefusal] = ()
    ) -> list[LinePlan]:
        """The outcome of every line of this chunk, in file order."""
        session, issuer_id = self.session, self.by.issuer_id
        plans = {
            r.number: LinePlan(r.number, r.decision_ref, "refused", r.code, r.message)
            for r in refusals
        }
        # Plain rows, not ORM objects: the session's identity map would keep every one of
        # them until the end of the transaction (a 100,000-line confirmation held 700 MB).
        children: dict[str, Any] = {}
        child_refs = sorted({line.child_ref for line in lines})
        for chunk in chunks(child_refs):
            for child in session.execute(
                select(*_CHILD).where(
                    Child.issuer_id == issuer_id, among(session, Child.child_ref, chunk)
                )
            ):
                children[child.child_ref or ""] = child
        decisions: dict[str, Any] = {}
        for chunk in chunks(sorted({line.decision_ref for line in lines})):
            for entitlement in session.execute(
                select(*_DECISION).where(
                    Entitlement.issuer_id == issuer_id,
                    among(session, Entitlement.decision_ref, chunk),
                )
            ):
                decisions[entitlement.decision_ref or ""] = entitlement
        in_file = self.earlier.of(session, child_refs)
        planned: list[EarlierLine] = []
        for line in lines:
            plan = _plan_line(session, line, children, decisions, in_file, self.today)
            plans[line.number] = plan
            if plan.outcome != "refused":
                earlier = earlier_line(line)
                in_file.setdefault(line.child_ref, []).append(earlier)
                planned.append(earlier)
        self.earlier.remember(planned)
        return [plans[number] for number in sorted(plans)]


def _refused(line: ApprovalLine, code: str, message: str) -> LinePlan:
    return LinePlan(line.number, line.decision_ref, "refused", code, message)


def _plan_line(
    session: Session,
    line: ApprovalLine,
    children: dict[str, Any],
    decisions: dict[str, Any],
    in_file: dict[str, list[EarlierLine]],
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
    if child is None:
        key = child_key(line)
        for other in in_file.get(line.child_ref, []):
            if other.child_key != key:
                return _refused(
                    line,
                    "child_conflict",
                    f"Line {other.number} of this file gives child_ref {line.child_ref} another "
                    "name, birth date or case_ref.",
                )
    existing = decisions.get(line.decision_ref)
    if existing is not None and (child is None or existing.child_id != child.id):
        return _refused(
            line, "decision_of_another_child", "This decision belongs to another child."
        )
    if line.status == "ended":
        return _plan_end(session, line, existing)
    if existing is None:  # the rules of a benefit recorded by hand (entitlement_rules)
        taken = (
            []
            if child is None
            else taken_periods(session, child_id=child.id, category=line.category, lock=False)
        )
        return _planned(
            line,
            in_file,
            "created",
            lambda: (
                decide_new(
                    category=line.category,
                    valid_from=line.valid_from,
                    valid_until=line.valid_until,
                    rule=line.rule,
                    birth_date=line.birth_date,
                    today=today,
                    taken=taken,
                ).cap_cents
            ),
        )
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
    taken = taken_periods(
        session,
        child_id=existing.child_id,
        category=line.category,
        exclude_id=existing.id,
        lock=False,
    )
    return _planned(
        line,
        in_file,
        "updated",
        lambda: decide_update(
            category=line.category,
            valid_from=line.valid_from,
            valid_until=line.valid_until,
            rule=line.rule,
            birth_date=line.birth_date,
            spent_cents=existing.spent_cents,
            last_booked=_last_booked_day(session, existing.id),
            taken=taken,
        ),
    )


def _planned(
    line: ApprovalLine,
    in_file: dict[str, list[EarlierLine]],
    outcome: str,
    decide: Callable[[], int | None],
) -> LinePlan:
    """The line's plan once the rules decided (`decide` gives the cap, or raises the
    refusal) and no earlier line of the file gives the child this benefit on its days."""
    try:
        cap = decide()
    except DomainError as error:
        return _refused(line, error.code, error.message)
    clash = _in_file_overlap(line, in_file)
    if clash:
        return _refused(line, "overlapping_entitlement", clash)
    return LinePlan(line.number, line.decision_ref, outcome, cap_cents=cap)


def _plan_end(session: Session, line: ApprovalLine, existing: Any | None) -> LinePlan:
    if existing is None:
        return _refused(line, "unknown_decision", "An ended line needs a decision YouCard has.")
    if existing.valid_until == line.valid_until:
        return LinePlan(line.number, line.decision_ref, "unchanged")
    try:
        cap = decide_end(
            category=existing.category,
            valid_from=existing.valid_from,
            ends_on=line.valid_until,
            rule=_rule_of(existing),
            birth_date=line.birth_date,
            spent_cents=existing.spent_cents,
            last_booked=_last_booked_day(session, existing.id),
        )
    except DomainError as error:
        return _refused(line, error.code, error.message)
    return LinePlan(line.number, line.decision_ref, "ended", cap_cents=cap)


def _in_file_overlap(line: ApprovalLine, in_file: dict[str, list[EarlierLine]]) -> str:
    """Why the new benefit would share a day with an earlier line's of this file for the
    same child and category; empty when it does not."""
    for other in in_file.get(line.child_ref, []):
        if (
            other.category == line.category.value
            and other.valid_from is not None
            and other.valid_until is not None
            and other.valid_from <= line.valid_until
            and other.valid_until >= line.valid_from
        ):
            return (
                f"Line {other.number} of this file gives the child this benefit on some of "
                "these days."
            )
    return ""


def summary(plans: Sequence[LinePlan]) -> dict[str, int]:
    """How many lines of each outcome."""
    counts = Counter(plan.outcome for plan in plans)
    return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}


REPORT_HEADER = ("line", "decision_ref", "outcome", "code", "reason")


def report_lines(plans: Iterable[LinePlan], *, header: bool = True) -> Iterator[str]:
    """The report as semicolon CSV (German spreadsheets), a line at a time (a long report is
    streamed): line, decision_ref, outcome, reason; no cell is ever a formula."""
    rows = (
        [plan.number, csv_text(plan.decision_ref), plan.outcome, plan.code, csv_text(plan.message)]
        for plan in plans
    )
    return csv_lines([REPORT_HEADER, *rows] if header else rows)
