"""The second person's decision on a recorded import batch (four eyes, docs/imports.md):
confirming writes and approves every line in one transaction, after checking each again
against what is stored now; rejecting leaves nothing behind."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select

from youcard import audit
from youcard.clock import berlin_date
from youcard.db import PlannerStatistics, Session
from youcard.domain.models import (
    Child,
    ImportBatch,
    ImportLine,
)
from youcard.errors import (
    Conflict,
    Forbidden,
    FourEyesViolation,
    NotFound,
)
from youcard.imports import approvals_file
from youcard.imports.batches import LinesRefused, empty_counts, stored_line
from youcard.imports.earlier import Earlier
from youcard.imports.plan import LinePlan, Planner
from youcard.operations.imported_benefits import write_approved
from youcard.policy import DECIDERS, RECORDERS, Staff, require_role


def _waiting(session: Session, by: Staff, batch_id: int) -> ImportBatch:
    batch = session.scalars(
        select(ImportBatch).where(ImportBatch.id == batch_id).with_for_update()
    ).one_or_none()
    if batch is None or batch.issuer_id != by.issuer_id:
        raise NotFound("No such import.", code="import_not_found")
    if batch.status in ("confirmed", "rejected"):
        raise Conflict("This import was already decided.", code="already_decided")
    if batch.status != "recorded":
        raise Conflict(
            "This import is not waiting for a decision (it is being checked, was refused, or "
            "was a dry run).",
            code="import_not_waiting",
        )
    return batch


def reject_import(session: Session, *, by: Staff, batch_id: int, now: datetime) -> ImportBatch:
    """Reject a waiting batch: nothing of it is written."""
    require_role(by, RECORDERS | DECIDERS, "reject imports")
    batch = _waiting(session, by, batch_id)
    batch.status, batch.decided_at = "rejected", now
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="import.reject",
        object_type="import_batch",
        object_id=batch.id,
        now=now,
    )
    return batch


def confirm_import(session: Session, *, by: Staff, batch_id: int, now: datetime) -> ImportBatch:
    """The second person confirms: every line is checked again against what is stored now
    and written and approved, a chunk at a time, in this one transaction (refused whole if a
    line fails now: the caller's rollback undoes the chunks already written)."""
    require_role(by, DECIDERS, "confirm imports")
    confirmer = by.person
    if confirmer is None:
        raise Forbidden("An import is recorded and confirmed by staff members (four eyes).")
    batch = _waiting(session, by, batch_id)
    if batch.recorded_by_id == confirmer:
        raise FourEyesViolation("You recorded this import; a colleague has to confirm it.")
    statistics = PlannerStatistics(session, "households, children, entitlements")
    # Each chunk is written before the next is planned: the database then holds what the
    # earlier chunks did, so no earlier lines are kept (Earlier()).
    planner = Planner(session, by=by, today=berlin_date(now), earlier=Earlier())
    counts = empty_counts()
    refused: list[LinePlan] = []
    last = 0
    while True:
        rows = session.execute(
            select(ImportLine.number, ImportLine.data)
            .where(ImportLine.batch_id == batch.id, ImportLine.number > last)
            .order_by(ImportLine.number)
            .limit(approvals_file.CHUNK)
        ).all()
        if not rows:
            break
        last = rows[-1].number
        lines = [stored_line(row.data) for row in rows]
        plans = planner.plan(lines)
        for plan in plans:
            counts[plan.outcome] += 1
        refused += [plan for plan in plans if plan.outcome == "refused"]
        if not refused:
            decided = list(zip(lines, plans, strict=True))
            write_approved(session, by=by, batch=batch, lines=decided, now=now)
            statistics.grew(len(lines))
    if refused:
        raise LinesRefused(
            "Since it was recorded, lines became refused; nothing is written.",
            refused,
            code="changed_since_recorded",
        )
    statistics.refresh()  # for the next import and everything else (autovacuum comes later)
    batch.status, batch.confirmed_by_id, batch.decided_at = "confirmed", confirmer, now
    batch.counts = json.dumps(counts)
    batch.families = (
        session.scalar(  # counted once: the batch page offers their letters
            select(func.count(func.distinct(Child.household_id)))
            .join(ImportLine, ImportLine.child_ref == Child.child_ref)
            .where(
                ImportLine.batch_id == batch.id,
                ImportLine.outcome.in_(("created", "updated")),
                Child.issuer_id == batch.issuer_id,
            )
        )
        or 0
    )
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="import.confirm",
        object_type="import_batch",
        object_id=batch.id,
        now=now,
        data=counts,
    )
    return batch
