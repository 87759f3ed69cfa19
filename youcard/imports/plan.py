"""What an approvals file would do, line by line, against what is stored (the dry run): a
line creates, updates, changes nothing, ends, or is refused with its reason. Reads only.

docs/imports.md's rules: the key is `decision_ref`; the same line again changes nothing; a changed
line updates its entitlement where the bookings allow it; `ended` ends it at `valid_until`,
never before what is already booked; an unknown `child_ref` creates household and child; a
known `child_ref` whose name or birth date differs is a conflict, never overwritten.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from youcard.db import Session, among
from youcard.documents.spreadsheets import csv_lines, csv_text
from youcard.domain.budget import BudgetRule
from youcard.domain.entitlement_rules import decide_end, decide_new, decide_update
from youcard.domain.enums import BookingKind, EntitlementStatus
from youcard.domain.models import Booking, Child, Entitlement, ImportLine
from youcard.domain.search import fold
from youcard.errors import DomainError
from youcard.imports.approvals_file import ApprovalLine, LineRefusal
from youcard.operations.entitlements import taken_periods
from youcard.operations.households import refuse_implausible_birth_date
from youcard.policy import ALL_STAFF, Staff, require_role

OUTCOMES = ("created", "updated", "unchanged", "ended", "refused")
_LIVE = (EntitlementStatus.RECORDED, EntitlementStatus.APPROVED)
_CHUNK = 1_000  # keys looked up per query
_CHILD = (Child.id, Child.child_ref, Child.given_name, Child.family_name, Child.birth_date)
_DECISION = (
    Entitlement.id, Entitlement.child_id, Entitlement.decision_ref, Entitlement.status,
    Entitlement.category, Entitlement.valid_from, Entitlement.valid_until, Entitlement.rule,
    Entitlement.accrual, Entitlement.amount_cents, Entitlement.units_total,
    Entitlement.units_per_day, Entitlement.spent_cents,
)  # fmt: skip


@dataclass(frozen=True)
class LinePlan:
    """What one line would do."""

    number: int
    decision_ref: str
    outcome: str  # one of OUTCOMES
    code: str = ""
    message: str = ""
    cap_cents: int | None = None  # created, updated, ended: the cap its rules decided


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _rule_of(entitlement: Any) -> BudgetRule:
    return BudgetRule(entitlement.rule, entitlement.amount_cents, entitlement.accrual,
                      entitlement.units_total, entitlement.units_per_day)  # fmt: skip


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


class Earlier:
    """The lines of the file before the current chunk that a later line must agree with
    (the same child described alike, no two periods of one benefit on the same day). This
    one keeps none: the confirmation writes each chunk before planning the next, so the
    database holds what earlier chunks did."""

    def of(self, session: Session, child_refs: Sequence[str]) -> dict[str, list[EarlierLine]]:
        """The earlier lines of these children."""
        return {}

    def remember(self, lines: Sequence[EarlierLine]) -> None:
        """A chunk is planned: its lines become earlier ones."""


class RememberedEarlier(Earlier):
    """Earlier lines kept in memory (a check that stores nothing: the dry run)."""

    def __init__(self) -> None:
        self._lines: dict[str, list[EarlierLine]] = {}

    def of(self, session: Session, child_refs: Sequence[str]) -> dict[str, list[EarlierLine]]:
        return {ref: list(self._lines[ref]) for ref in child_refs if ref in self._lines}

    def remember(self, lines: Sequence[EarlierLine]) -> None:
        for line in lines:
            self._lines.setdefault(line.child_ref, []).append(line)


class StoredEarlier(Earlier):
    """Earlier lines read from the batch's stored lines (`import_lines`, each chunk stored
    after it is planned): a 100,000-line file costs the memory of one chunk."""

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id

    def of(self, session: Session, child_refs: Sequence[str]) -> dict[str, list[EarlierLine]]:
        found: dict[str, list[EarlierLine]] = {}
        for chunk in _chunks(sorted(child_refs)):
            for row in session.execute(
                select(
                    ImportLine.number, ImportLine.child_ref, ImportLine.child_key,
                    ImportLine.category, ImportLine.valid_from, ImportLine.valid_until,
                ).where(
                    ImportLine.batch_id == self.batch_id,
                    among(session, ImportLine.child_ref, chunk),
                    ImportLine.outcome != "refused",
                )
            ):  # fmt: skip
                found.setdefault(row.child_ref, []).append(
                    EarlierLine(
                        row.number,
                        row.child_ref,
                        row.child_key or "",
                        row.category or "",
                        row.valid_from,
                        row.valid_until,
                    )
                )
        return found


@dataclass(frozen=True)
class EarlierLine:
    """What a later line of the file is checked against."""

    number: int
    child_ref: str
    child_key: str  # the child as the line describes it (see child_key)
    category: str
    valid_from: date | None
    valid_until: date | None


def child_key(line: ApprovalLine) -> str:
    """The child as a line describes it: two lines of one `child_ref` must agree on it."""
    return "\x1f".join(
        (line.case_ref, fold(line.given_name), fold(line.family_name), line.birth_date.isoformat())
    )


def earlier_line(line: ApprovalLine) -> EarlierLine:
    return EarlierLine(line.number, line.child_ref, child_key(line), line.category.value,
                       line.valid_from, line.valid_until)  # fmt: skip


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
        plans = {r.number: LinePlan(r.number, r.decision_ref, "refused", r.code, r.message)
                 for r in refusals}  # fmt: skip
        # Plain rows, not ORM objects: the session's identity map would keep every one of
        # them until the end of the transaction (a 100,000-line confirmation held 700 MB).
        children: dict[str, Any] = {}
        child_refs = sorted({line.child_ref for line in lines})
        for chunk in _chunks(child_refs):
            for child in session.execute(
                select(*_CHILD).where(
                    Child.issuer_id == issuer_id, among(session, Child.child_ref, chunk)
                )
            ):
                children[child.child_ref or ""] = child
        decisions: dict[str, Any] = {}
        for chunk in _chunks(sorted({line.decision_ref for line in lines})):
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
        try:
            decided = decide_new(
                category=line.category,
                valid_from=line.valid_from,
                valid_until=line.valid_until,
                rule=line.rule,
                birth_date=line.birth_date,
                today=today,
                taken=taken,
            )
        except DomainError as error:
            return _refused(line, error.code, error.message)
        clash = _in_file_overlap(line, in_file)
        if clash:
            return _refused(line, "overlapping_entitlement", clash)
        return LinePlan(line.number, line.decision_ref, "created", cap_cents=decided.cap_cents)
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
    try:
        cap = decide_update(
            category=line.category,
            valid_from=line.valid_from,
            valid_until=line.valid_until,
            rule=line.rule,
            birth_date=line.birth_date,
            spent_cents=existing.spent_cents,
            last_booked=_last_booked_day(session, existing.id),
            taken=taken,
        )
    except DomainError as error:
        return _refused(line, error.code, error.message)
    clash = _in_file_overlap(line, in_file)
    if clash:
        return _refused(line, "overlapping_entitlement", clash)
    return LinePlan(line.number, line.decision_ref, "updated", cap_cents=cap)


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
