"""Writing a confirmed import, a chunk at a time (`youcard.imports.batches.confirm_import`):
new households and children, new entitlements, changes to existing ones — each kind one
statement of many rows where it can be.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, insert, select

from youcard import audit, budget
from youcard.db import Session, among
from youcard.enums import EntitlementStatus
from youcard.imports.approvals_file import ApprovalLine
from youcard.imports.plan import LinePlan
from youcard.models import Child, Entitlement, Household, ImportBatch
from youcard.search import fold

# Core INSERTs of many rows: the unit of work would cost 10 times more.
_ENTITLEMENTS: Table = Entitlement.__table__  # type: ignore[assignment]
_HOUSEHOLDS: Table = Household.__table__  # type: ignore[assignment]
_CHILDREN: Table = Child.__table__  # type: ignore[assignment]


def write_chunk(
    session: Session,
    batch: ImportBatch,
    lines: Sequence[ApprovalLine],
    plans: Sequence[LinePlan],
    confirmer: int,
    now: datetime,
) -> None:
    """Write a chunk: new households and children first, then the entitlements (each one
    INSERT of many rows), then the changes to existing ones."""
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
                "issuer_id": batch.issuer_id,
                "child_id": children[line.child_ref],
                "category": line.category,
                "status": EntitlementStatus.APPROVED,
                "valid_from": line.valid_from,
                "valid_until": line.valid_until,
                "rule": line.rule.kind,
                "accrual": line.rule.accrual,
                "amount_cents": line.rule.amount_cents,
                "units_total": line.rule.units_total,
                "units_per_day": line.rule.units_per_day,
                "cap_cents": budget.cap_cents(line.rule, period) if period else 0,
                "spent_cents": 0,
                "spent_units": 0,
                "recorded_by_id": batch.recorded_by_id,
                "recorded_at": batch.recorded_at,
                "decided_by_id": confirmer,
                "decided_at": now,
                "decision_ref": line.decision_ref,
                "legal_basis": line.legal_basis,
            }
        )
    if rows:  # one INSERT of many rows: the unit of work would cost 10 times more
        session.execute(insert(_ENTITLEMENTS), rows)
        _audit_created(session, batch, [line.decision_ref for line in created], confirmer, now)
    changed = {line.decision_ref: (line, plan) for line, plan in todo if plan.outcome != "created"}
    if changed:
        entitlements = session.scalars(
            select(Entitlement)
            .where(
                Entitlement.issuer_id == batch.issuer_id,
                among(session, Entitlement.decision_ref, sorted(changed)),
            )
            .with_for_update()
        ).all()
        for entitlement in entitlements:
            line, plan = changed[entitlement.decision_ref or ""]
            _change(entitlement, line, updated=plan.outcome == "updated")
        session.flush()
        for outcome in ("updated", "ended"):
            refs = sorted(ref for ref, (_line, plan) in changed.items() if plan.outcome == outcome)
            if refs:
                audit.record_for_each(
                    session,
                    issuer_id=batch.issuer_id,
                    actor=f"staff:{confirmer}",
                    action="entitlement.import_change",
                    object_type="entitlement",
                    object_ids=select(_ENTITLEMENTS.c.id).where(
                        _ENTITLEMENTS.c.issuer_id == batch.issuer_id,
                        among(session, _ENTITLEMENTS.c.decision_ref, refs),
                    ),
                    now=now,
                    data={"outcome": outcome, "import_batch": batch.id},
                )
        for entitlement in entitlements:  # written: not kept to the end of the transaction
            session.expunge(entitlement)


def _audit_created(
    session: Session, batch: ImportBatch, refs: list[str], confirmer: int, now: datetime
) -> None:
    """Each new entitlement's trail, as one recorded and approved by hand leaves it: who
    recorded it (the batch's recorder, when the file was recorded) and who approved it (the
    confirmer, now), each naming the batch. Two INSERT ... SELECTs per chunk (one event per
    entitlement in Python cost a 100,000-line import 47 s more: bench/import.py)."""
    created = select(_ENTITLEMENTS.c.id).where(
        _ENTITLEMENTS.c.issuer_id == batch.issuer_id,
        among(session, _ENTITLEMENTS.c.decision_ref, refs),
    )
    for actor, action, when in (
        (f"staff:{batch.recorded_by_id}", "entitlement.record", batch.recorded_at),
        (f"staff:{confirmer}", "entitlement.approve", now),
    ):
        audit.record_for_each(
            session,
            issuer_id=batch.issuer_id,
            actor=actor,
            action=action,
            object_type="entitlement",
            object_ids=created,
            now=when,
            data={"import_batch": batch.id},
        )


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
) -> dict[str, int]:
    """The ids of the children of the new entitlements by child_ref: stored ones, and new
    ones (with their households, found by case_ref or new), each kind one INSERT."""
    child_refs = sorted({line.child_ref for line in created})
    found: dict[str, int] = {}
    if child_refs:
        for child_id, child_ref in session.execute(
            select(Child.id, Child.child_ref).where(
                Child.issuer_id == batch.issuer_id, among(session, Child.child_ref, child_refs)
            )
        ):
            found[child_ref or ""] = child_id
    first: dict[str, ApprovalLine] = {}
    for line in created:
        if line.child_ref not in found:
            first.setdefault(line.child_ref, line)
    if not first:
        return found
    case_refs = sorted({line.case_ref for line in first.values()})
    households: dict[str, int] = {
        reference: household_id
        for reference, household_id in session.execute(
            select(Household.reference, Household.id).where(
                Household.issuer_id == batch.issuer_id,
                among(session, Household.reference, case_refs),
            )
        )
    }
    new_households: dict[str, str] = {}
    for line in first.values():
        if line.case_ref not in households:
            new_households.setdefault(line.case_ref, line.family_name)
    if new_households:
        # Core INSERTs skip the mapper's events: the search keys are set here.
        made = session.execute(
            insert(_HOUSEHOLDS).returning(_HOUSEHOLDS.c.reference, _HOUSEHOLDS.c.id),
            [
                {
                    "issuer_id": batch.issuer_id,
                    "reference": reference,
                    "family_name": family_name,
                    "created_at": now,
                    "search_key": fold(f"{reference} {family_name}"),
                }
                for reference, family_name in new_households.items()
            ],
        )
        households.update((reference, household_id) for reference, household_id in made)
    made = session.execute(
        insert(_CHILDREN).returning(_CHILDREN.c.child_ref, _CHILDREN.c.id),
        [
            {
                "issuer_id": batch.issuer_id, "household_id": households[line.case_ref],
                "child_ref": ref, "given_name": line.given_name,
                "family_name": line.family_name, "birth_date": line.birth_date,
                "created_at": now, "search_key": fold(f"{line.given_name} {line.family_name}"),
            }
            for ref, line in first.items()
        ],
    )  # fmt: skip
    found.update((ref or "", child_id) for ref, child_id in made)
    return found
