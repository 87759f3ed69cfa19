"""Writing a confirmed approvals import, a chunk at a time (imports.batches.confirm_import):
new households and children, new approved benefits, changes to stored ones — each kind one
statement of many rows where it can be, with the audit trail recording and approving by
hand leaves (entitlement.record by the batch's recorder, entitlement.approve by the
confirmer, entitlement.import_change for a changed one, each naming the batch).

It writes what the rules decided (entitlement_rules: `decide_new`, `decide_update`,
`decide_end`, asked by the import's plan just before): the caps come with each line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import Table, insert, or_, select

from youcard import audit
from youcard.db import Session, among
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category, EntitlementStatus
from youcard.domain.models import Child, Entitlement, Household, ImportBatch
from youcard.domain.models.households import child_search_key, household_search_key
from youcard.errors import Forbidden
from youcard.messages import events as messages
from youcard.policy import DECIDERS, Staff, require_role, staff_actor

# Core INSERTs of many rows: the unit of work would cost 10 times more.
_ENTITLEMENTS: Table = Entitlement.__table__  # type: ignore[assignment]
_HOUSEHOLDS: Table = Household.__table__  # type: ignore[assignment]
_CHILDREN: Table = Child.__table__  # type: ignore[assignment]


class ApprovedLine(Protocol):
    """A line of an approvals file as the import read it (imports.approvals_file)."""

    @property
    def decision_ref(self) -> str: ...
    @property
    def case_ref(self) -> str: ...
    @property
    def child_ref(self) -> str: ...
    @property
    def family_name(self) -> str: ...
    @property
    def given_name(self) -> str: ...
    @property
    def birth_date(self) -> date: ...
    @property
    def category(self) -> Category: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_until(self) -> date: ...
    @property
    def rule(self) -> BudgetRule: ...
    @property
    def legal_basis(self) -> str | None: ...


class Decided(Protocol):
    """What the rules decided for the line (imports.plan.LinePlan)."""

    @property
    def outcome(self) -> str: ...  # created, updated, ended or unchanged
    @property
    def cap_cents(self) -> int | None: ...


def write_approved(
    session: Session,
    *,
    by: Staff,
    batch: ImportBatch,
    lines: Sequence[tuple[ApprovedLine, Decided]],
    now: datetime,
) -> None:
    """Write a chunk of a batch `by` confirms: new households and children first, then the
    new benefits, approved (each one INSERT of many rows), then the changes to stored
    ones. Every line was decided just before; none of them is refused."""
    require_role(by, DECIDERS, "confirm imports")
    if by.person is None or by.person == batch.recorded_by_id:
        raise Forbidden("An import is confirmed by a second person (four eyes).")
    todo = [(line, decided) for line, decided in lines if decided.outcome != "unchanged"]
    created = [(line, decided) for line, decided in todo if decided.outcome == "created"]
    children = _children(session, batch, [line for line, _ in created], now)
    rows = [
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
            "cap_cents": decided.cap_cents,
            "spent_cents": 0,
            "spent_units": 0,
            "recorded_by_id": batch.recorded_by_id,
            "recorded_at": batch.recorded_at,
            "decided_by_id": by.person,
            "decided_at": now,
            "decision_ref": line.decision_ref,
            "legal_basis": line.legal_basis,
        }
        for line, decided in created
    ]
    if rows:
        session.execute(insert(_ENTITLEMENTS), rows)
        refs = [line.decision_ref for line, _ in created]
        _audit_created(session, by, batch, refs, now)
        _tell_families(session, batch, refs, now)
    changed = {line.decision_ref: (line, d) for line, d in todo if d.outcome != "created"}
    if changed:
        _change(session, by, batch, changed, now)


def _change(
    session: Session,
    by: Staff,
    batch: ImportBatch,
    changed: dict[str, tuple[ApprovedLine, Decided]],
    now: datetime,
) -> None:
    """The stored benefits whose decision changed: an `updated` one takes the line's
    period and rule, an `ended` one its end; each the cap decided for it."""
    entitlements = session.scalars(
        select(Entitlement)
        .where(
            Entitlement.issuer_id == batch.issuer_id,
            among(session, Entitlement.decision_ref, sorted(changed)),
        )
        .with_for_update()
    ).all()
    for entitlement in entitlements:
        line, decided = changed[entitlement.decision_ref or ""]
        if decided.outcome == "updated":
            entitlement.valid_from = line.valid_from
            entitlement.rule, entitlement.accrual = line.rule.kind, line.rule.accrual
            entitlement.amount_cents = line.rule.amount_cents
            entitlement.units_total = line.rule.units_total
            entitlement.units_per_day = line.rule.units_per_day
        entitlement.valid_until = line.valid_until
        entitlement.legal_basis = line.legal_basis or entitlement.legal_basis
        entitlement.cap_cents = decided.cap_cents
    session.flush()
    for outcome in ("updated", "ended"):
        refs = sorted(ref for ref, (_, decided) in changed.items() if decided.outcome == outcome)
        if refs:
            audit.record_for_each(
                session,
                issuer_id=batch.issuer_id,
                actor=by.actor,
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


def _tell_families(session: Session, batch: ImportBatch, refs: list[str], now: datetime) -> None:
    """The approval message to each family of a new benefit that has an address (one
    imported with its household has none: its letter tells it). Without an access code: the
    batch's letters bring the codes."""
    reachable = session.execute(
        select(Entitlement, Child, Household)
        .join(Child, Child.id == Entitlement.child_id)
        .join(Household, Household.id == Child.household_id)
        .where(
            Entitlement.issuer_id == batch.issuer_id,
            among(session, Entitlement.decision_ref, refs),
            or_(Household.email.is_not(None), Household.phone.is_not(None)),
            Household.erased_at.is_(None),
        )
        .order_by(Entitlement.id)
    ).all()
    for entitlement, child, household in reachable:
        messages.benefit_approved(session, entitlement, child, household, now)
        session.expunge(entitlement)


def _audit_created(
    session: Session, by: Staff, batch: ImportBatch, refs: list[str], now: datetime
) -> None:
    """Each new benefit's trail, as one recorded and approved by hand leaves it: who
    recorded it (the batch's recorder, when the file was recorded) and who approved it (the
    confirmer, now), each naming the batch. Two INSERT ... SELECTs per chunk (one event per
    benefit in Python cost a 100,000-line import 47 s more: bench/import.py)."""
    created = select(_ENTITLEMENTS.c.id).where(
        _ENTITLEMENTS.c.issuer_id == batch.issuer_id,
        among(session, _ENTITLEMENTS.c.decision_ref, refs),
    )
    for actor, action, when in (
        (staff_actor(batch.recorded_by_id), "entitlement.record", batch.recorded_at),
        (by.actor, "entitlement.approve", now),
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


def _children(
    session: Session, batch: ImportBatch, created: Sequence[ApprovedLine], now: datetime
) -> dict[str, int]:
    """The ids of the children of the new benefits by child_ref: stored ones, and new ones
    (with their households, found by case_ref or new), each kind one INSERT."""
    child_refs = sorted({line.child_ref for line in created})
    found: dict[str, int] = {}
    if child_refs:
        for child_id, child_ref in session.execute(
            select(Child.id, Child.child_ref).where(
                Child.issuer_id == batch.issuer_id, among(session, Child.child_ref, child_refs)
            )
        ):
            found[child_ref or ""] = child_id
    first: dict[str, ApprovedLine] = {}
    for line in created:
        if line.child_ref not in found:
            first.setdefault(line.child_ref, line)
    if not first:
        return found
    households = _households(session, batch, list(first.values()), now)
    made = session.execute(
        insert(_CHILDREN).returning(_CHILDREN.c.child_ref, _CHILDREN.c.id),
        [
            {
                "issuer_id": batch.issuer_id,
                "household_id": households[line.case_ref],
                "child_ref": ref,
                "given_name": line.given_name,
                "family_name": line.family_name,
                "birth_date": line.birth_date,
                "created_at": now,
                "search_key": child_search_key(line.given_name, line.family_name),
            }
            for ref, line in first.items()
        ],
    )
    found.update((ref or "", child_id) for ref, child_id in made)
    return found


def _households(
    session: Session, batch: ImportBatch, lines: Sequence[ApprovedLine], now: datetime
) -> dict[str, int]:
    """The households of new children by case_ref: stored ones, and new ones (one INSERT)."""
    case_refs = sorted({line.case_ref for line in lines})
    households: dict[str, int] = {
        reference: household_id
        for reference, household_id in session.execute(
            select(Household.reference, Household.id).where(
                Household.issuer_id == batch.issuer_id,
                among(session, Household.reference, case_refs),
            )
        )
    }
    new: dict[str, str] = {}
    for line in lines:
        if line.case_ref not in households:
            new.setdefault(line.case_ref, line.family_name)
    if new:
        made = session.execute(
            insert(_HOUSEHOLDS).returning(_HOUSEHOLDS.c.reference, _HOUSEHOLDS.c.id),
            [
                {
                    "issuer_id": batch.issuer_id,
                    "reference": reference,
                    "family_name": family_name,
                    "created_at": now,
                    "search_key": household_search_key(reference, family_name),
                }
                for reference, family_name in new.items()
            ],
        )
        households.update((reference, household_id) for reference, household_id in made)
    return households
