"""Import batches, four eyes (DESIGN.md): one staff member records an approvals file (all
or nothing: refused when a line is refused), a second one confirms it — which writes and
approves it in one transaction, after checking every line again — or rejects it, which
leaves nothing behind. The same file waits at most once per issuer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, text

from youcard import audit, budget
from youcard.budget import BudgetRule
from youcard.clock import berlin_date
from youcard.db import Session, refusing_duplicates
from youcard.enums import Accrual, Category, EntitlementStatus, RuleKind
from youcard.errors import Conflict, Forbidden, FourEyesViolation, InvalidRequest, NotFound
from youcard.imports.approvals_file import ApprovalLine, read_approvals
from youcard.imports.plan import LinePlan, plan_import, summary
from youcard.models import Child, Entitlement, Household, ImportBatch, ImportLine
from youcard.policy import DECIDERS, RECORDERS, Staff, require_role

ANALYZE_FROM = 1_000  # lines in a batch from which the planner's statistics are refreshed


class LinesRefused(InvalidRequest):
    """Lines of the file are refused: the batch is taken all or nothing (`plans` says why)."""

    code = "lines_refused"

    def __init__(self, message: str, plans: Sequence[LinePlan], code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.plans = list(plans)


def _staff_id(by: Staff) -> int:
    if by.user_id is None:
        raise Forbidden("An import is recorded and confirmed by staff members (four eyes).")
    return by.user_id


def _to_json(line: ApprovalLine) -> str:
    data = asdict(line)
    data["rule"] = {k: (v.value if hasattr(v, "value") else v) for k, v in data["rule"].items()}
    return json.dumps(data, default=str, ensure_ascii=False)


def _from_json(text: str) -> ApprovalLine:
    data: dict[str, Any] = json.loads(text)
    rule = data.pop("rule")
    return ApprovalLine(
        **{
            **data,
            "birth_date": date.fromisoformat(data["birth_date"]),
            "valid_from": date.fromisoformat(data["valid_from"]),
            "valid_until": date.fromisoformat(data["valid_until"]),
            "category": Category(data["category"]),
        },
        rule=BudgetRule(
            RuleKind(rule["kind"]),
            rule["amount_cents"],
            Accrual(rule["accrual"]),
            rule["units_total"],
            rule["units_per_day"],
        ),
    )


def record_import(
    session: Session, *, by: Staff, data: bytes, file_name: str, now: datetime
) -> ImportBatch:
    """Record the file as a batch waiting for a second person (nothing else is written)."""
    require_role(by, RECORDERS, "import approvals")
    recorder = _staff_id(by)
    lines, refusals = read_approvals(data)
    plans = plan_import(session, by=by, lines=lines, refusals=refusals, today=berlin_date(now))
    counts = summary(plans)
    if counts["refused"]:
        raise LinesRefused(f"{counts['refused']} line(s) are refused; nothing is recorded.", plans)
    batch = ImportBatch(
        issuer_id=by.issuer_id,
        file_name=(file_name or "import.csv")[:200],
        file_sha256=hashlib.sha256(data).digest(),
        status="recorded",
        counts=json.dumps(counts),
        recorded_by_id=recorder,
        recorded_at=now,
    )
    with refusing_duplicates(
        session,
        lambda: Conflict("This file already waits for confirmation.", code="import_waiting"),
    ):
        session.add(batch)
    outcome = {plan.number: plan.outcome for plan in plans}
    session.execute(
        insert(ImportLine),
        [
            {
                "batch_id": batch.id,
                "number": line.number,
                "decision_ref": line.decision_ref,
                "outcome": outcome[line.number],
                "data": _to_json(line),
            }
            for line in lines
        ],
    )
    audit.record(
        session, issuer_id=by.issuer_id, actor=by.actor, action="import.record",
        object_type="import_batch", object_id=batch.id, now=now, data=counts,
    )  # fmt: skip
    return batch


def _waiting(session: Session, by: Staff, batch_id: int) -> ImportBatch:
    batch = session.scalars(
        select(ImportBatch).where(ImportBatch.id == batch_id).with_for_update()
    ).one_or_none()
    if batch is None or batch.issuer_id != by.issuer_id:
        raise NotFound("No such import.", code="import_not_found")
    if batch.status != "recorded":
        raise Conflict("This import was already decided.", code="already_decided")
    return batch


def reject_import(session: Session, *, by: Staff, batch_id: int, now: datetime) -> ImportBatch:
    """Reject a waiting batch: nothing of it is written."""
    require_role(by, RECORDERS | DECIDERS, "reject imports")
    batch = _waiting(session, by, batch_id)
    batch.status, batch.decided_at = "rejected", now
    audit.record(
        session, issuer_id=by.issuer_id, actor=by.actor, action="import.reject",
        object_type="import_batch", object_id=batch.id, now=now,
    )  # fmt: skip
    return batch


def confirm_import(session: Session, *, by: Staff, batch_id: int, now: datetime) -> ImportBatch:
    """The second person confirms: every line is checked again against what is stored now,
    then written and approved in this one transaction (refused whole if a line fails now)."""
    require_role(by, DECIDERS, "confirm imports")
    confirmer = _staff_id(by)
    batch = _waiting(session, by, batch_id)
    if batch.recorded_by_id == confirmer:
        raise FourEyesViolation("You recorded this import; a colleague has to confirm it.")
    rows = session.scalars(
        select(ImportLine).where(ImportLine.batch_id == batch.id).order_by(ImportLine.number)
    ).all()
    lines = [_from_json(row.data) for row in rows]
    plans = plan_import(session, by=by, lines=lines, refusals=[], today=berlin_date(now))
    if summary(plans)["refused"]:
        raise LinesRefused(
            "Since it was recorded, lines became refused; nothing is written.",
            plans,
            code="changed_since_recorded",
        )
    _apply(session, batch, lines, plans, confirmer, now)
    if session.get_bind().dialect.name == "postgresql" and len(lines) >= ANALYZE_FROM:
        # Thousands of new rows before autovacuum has looked: without fresh statistics the
        # next import's key lookups scanned whole tables (a re-import of 20,000 lines took
        # 17 s instead of 1, bench/import.py).
        session.execute(text("ANALYZE households, children, entitlements"))
    batch.status, batch.confirmed_by_id, batch.decided_at = "confirmed", confirmer, now
    audit.record(
        session, issuer_id=by.issuer_id, actor=by.actor, action="import.confirm",
        object_type="import_batch", object_id=batch.id, now=now, data=summary(plans),
    )  # fmt: skip
    return batch


def _apply(
    session: Session,
    batch: ImportBatch,
    lines: Sequence[ApprovalLine],
    plans: Sequence[LinePlan],
    confirmer: int,
    now: datetime,
) -> None:
    """Write the batch: new households and children first (one INSERT each, many rows),
    then the entitlements, then the changes to existing ones."""
    todo = [(line, plan) for line, plan in zip(lines, plans, strict=True)
            if plan.outcome != "unchanged"]  # fmt: skip
    created = [line for line, plan in todo if plan.outcome == "created"]
    children = _children(session, batch, created, now)
    rows = []
    for line in created:
        period = budget.effective_period(
            line.valid_from, line.valid_until, category=line.category, birth_date=line.birth_date
        )
        rows.append(
            {
                "issuer_id": batch.issuer_id, "child_id": children[line.child_ref].id,
                "category": line.category, "status": EntitlementStatus.APPROVED,
                "valid_from": line.valid_from, "valid_until": line.valid_until,
                "rule": line.rule.kind, "accrual": line.rule.accrual,
                "amount_cents": line.rule.amount_cents, "units_total": line.rule.units_total,
                "units_per_day": line.rule.units_per_day,
                "cap_cents": budget.cap_cents(line.rule, period) if period else 0,
                "spent_cents": 0, "spent_units": 0, "recorded_by_id": batch.recorded_by_id,
                "recorded_at": batch.recorded_at, "decided_by_id": confirmer, "decided_at": now,
                "decision_ref": line.decision_ref, "legal_basis": line.legal_basis,
            }
        )  # fmt: skip
    if rows:  # one INSERT of many rows: the unit of work would cost 10 times more
        session.execute(insert(Entitlement), rows)
    changed = {line.decision_ref: (line, plan) for line, plan in todo if plan.outcome != "created"}
    refs = sorted(changed)
    for start in range(0, len(refs), _CHUNK):
        for entitlement in session.scalars(
            select(Entitlement)
            .where(
                Entitlement.issuer_id == batch.issuer_id,
                Entitlement.decision_ref.in_(refs[start : start + _CHUNK]),
            )
            .with_for_update()
        ):
            line, plan = changed[entitlement.decision_ref or ""]
            _change(entitlement, line, updated=plan.outcome == "updated")
    session.flush()


_CHUNK = 1_000


def _change(entitlement: Entitlement, line: ApprovalLine, *, updated: bool) -> None:
    if updated:
        entitlement.valid_from = line.valid_from
        entitlement.rule, entitlement.accrual = line.rule.kind, line.rule.accrual
        entitlement.amount_cents = line.rule.amount_cents
        entitlement.units_total = line.rule.units_total
        entitlement.units_per_day = line.rule.units_per_day
    entitlement.valid_until = line.valid_until
    entitlement.legal_basis = line.legal_basis or entitlement.legal_basis
    period = budget.effective_period(
        entitlement.valid_from, entitlement.valid_until, category=entitlement.category,
        birth_date=line.birth_date,
    )  # fmt: skip
    entitlement.cap_cents = budget.cap_cents(entitlement.budget_rule, period) if period else 0


def _children(
    session: Session, batch: ImportBatch, created: Sequence[ApprovalLine], now: datetime
) -> dict[str, Child]:
    """The children of the new entitlements by child_ref: stored ones, and new ones (with
    their households, found by case_ref or new), each kind inserted at once."""
    child_refs = sorted({line.child_ref for line in created})
    found: dict[str, Child] = {}
    for start in range(0, len(child_refs), _CHUNK):
        for child in session.scalars(
            select(Child).where(
                Child.issuer_id == batch.issuer_id,
                Child.child_ref.in_(child_refs[start : start + _CHUNK]),
            )
        ):
            found[child.child_ref or ""] = child
    first: dict[str, ApprovalLine] = {}
    for line in created:
        if line.child_ref not in found:
            first.setdefault(line.child_ref, line)
    case_refs = sorted({line.case_ref for line in first.values()})
    households: dict[str, Household] = {}
    for start in range(0, len(case_refs), _CHUNK):
        for household in session.scalars(
            select(Household).where(
                Household.issuer_id == batch.issuer_id,
                Household.reference.in_(case_refs[start : start + _CHUNK]),
            )
        ):
            households[household.reference] = household
    new_households = {}
    for line in first.values():
        if line.case_ref not in households and line.case_ref not in new_households:
            new_households[line.case_ref] = Household(
                issuer_id=batch.issuer_id, reference=line.case_ref,
                family_name=line.family_name, created_at=now,
            )  # fmt: skip
    session.add_all(new_households.values())
    session.flush()
    households.update(new_households)
    new_children = {
        ref: Child(
            issuer_id=batch.issuer_id,
            household_id=households[line.case_ref].id,
            child_ref=ref,
            given_name=line.given_name,
            family_name=line.family_name,
            birth_date=line.birth_date,
            created_at=now,
        )
        for ref, line in first.items()
    }
    session.add_all(new_children.values())
    session.flush()
    return found | new_children
