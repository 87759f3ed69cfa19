"""Import batches, four eyes (docs/imports.md): one staff member records an approvals file (all
or nothing: refused when a line is refused), a second one confirms it — which writes and
approves it in one transaction, after checking every line again — or rejects it, which
leaves nothing behind. The same file waits at most once per issuer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from youcard import audit
from youcard.clock import berlin_date
from youcard.db import PlannerStatistics, Session, refusing_duplicates
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Accrual, Category, RuleKind
from youcard.domain.models import (
    Child,
    ImportBatch,
    ImportLine,
    StaffUser,
)
from youcard.errors import (
    Conflict,
    DomainError,
    Forbidden,
    FourEyesViolation,
    InvalidRequest,
    NotFound,
)
from youcard.imports import approvals_file
from youcard.imports.approvals_file import (
    ApprovalLine,
    FileRefused,
    check_file,
    count_lines,
    in_chunks,
)
from youcard.imports.plan import OUTCOMES, Earlier, LinePlan, Planner, StoredEarlier, child_key
from youcard.operations.imported_benefits import write_approved
from youcard.policy import ALL_STAFF, DECIDERS, RECORDERS, Staff, require_role


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
    # By hand: dataclasses.asdict (deep copies) took a fifth of a check's time.
    rule = line.rule
    return json.dumps(
        {
            "number": line.number, "decision_ref": line.decision_ref, "case_ref": line.case_ref,
            "child_ref": line.child_ref, "family_name": line.family_name,
            "given_name": line.given_name, "birth_date": line.birth_date.isoformat(),
            "category": line.category.value, "valid_from": line.valid_from.isoformat(),
            "valid_until": line.valid_until.isoformat(), "legal_basis": line.legal_basis,
            "status": line.status,
            "rule": {
                "kind": rule.kind.value, "amount_cents": rule.amount_cents,
                "accrual": rule.accrual.value, "units_total": rule.units_total,
                "units_per_day": rule.units_per_day,
            },
        },
        ensure_ascii=False,
    )  # fmt: skip


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


def empty_counts() -> dict[str, int]:
    """Every outcome, none yet."""
    return dict.fromkeys(OUTCOMES, 0)


def queue_import(
    session: Session, *, by: Staff, data: bytes, file_name: str, now: datetime,
    dry_run: bool = False,
) -> ImportBatch:  # fmt: skip
    """Take the file in as a batch waiting to be checked (by `check_batch`: the jobs, or the
    command at once); nothing else is written. A dry run is checked and kept with its report,
    never recorded."""
    require_role(by, ALL_STAFF if dry_run else RECORDERS, "import approvals")
    recorder = _staff_id(by)
    check_file(data)  # what is no approvals file at all is refused at once, not queued
    batch = ImportBatch(
        issuer_id=by.issuer_id,
        file_name=(file_name or "import.csv")[:200],
        file_sha256=hashlib.sha256(data).digest(),
        status="queued",
        dry_run=dry_run,
        data=data,
        lines_total=count_lines(data),
        lines_done=0,
        counts=json.dumps(empty_counts()),
        recorded_by_id=recorder,
        recorded_at=now,
    )
    with refusing_duplicates(
        session,
        lambda: Conflict("This file already waits to be checked or confirmed.",
                         code="import_waiting"),
    ):  # fmt: skip
        session.add(batch)
    audit.record(
        session, issuer_id=by.issuer_id, actor=by.actor, action="import.upload",
        object_type="import_batch", object_id=batch.id, now=now,
        data={"lines": batch.lines_total, "dry_run": dry_run},
    )  # fmt: skip
    return batch


def check_batch(
    session: Session,
    batch: ImportBatch,
    *,
    now: datetime,
    checkpoint: Callable[[ImportBatch, bool], None] | None = None,
) -> ImportBatch:
    """Check a queued batch line by line, as the person who uploaded it, storing every line
    with its outcome a chunk at a time. `checkpoint(batch, final)` runs after each chunk (the
    jobs commit there, so progress shows and memory stays flat) and once before the end.
    Then the batch is recorded (waiting for a second person), refused (a line or the file;
    its report stays), or checked (a dry run)."""
    data = batch.data or b""
    counts = empty_counts()
    try:
        recorder = session.get(StaffUser, batch.recorded_by_id)
        if recorder is None or recorder.issuer_id != batch.issuer_id:
            raise Forbidden("The account that uploaded this file is gone.")
        by = Staff.of(recorder)
        require_role(by, ALL_STAFF if batch.dry_run else RECORDERS, "import approvals")
        planner = Planner(session, by=by, today=berlin_date(now), earlier=StoredEarlier(batch.id))
        for lines, refusals in in_chunks(data):
            plans = planner.plan(lines, refusals)
            _store_lines(session, batch.id, lines, plans)
            for plan in plans:
                counts[plan.outcome] += 1
            batch.lines_done += len(plans)
            batch.counts = json.dumps(counts)
            session.flush()
            if checkpoint is not None:
                checkpoint(batch, False)
    except DomainError as error:  # the whole file (or who gave it) is refused
        session.execute(delete(ImportLine).where(ImportLine.batch_id == batch.id))
        batch.problem_code, batch.problem = error.code, error.message
        counts = empty_counts()
    if checkpoint is not None:
        checkpoint(batch, True)
    if batch.problem or counts["refused"]:
        batch.status, action = "refused", "import.refuse"
    elif batch.dry_run:
        batch.status, action = "checked", "import.check"
    else:
        batch.status, action = "recorded", "import.record"
    batch.counts, batch.data, batch.claim = json.dumps(counts), None, None
    audit.record(
        session, issuer_id=batch.issuer_id, actor=f"staff:{batch.recorded_by_id}",
        action=action, object_type="import_batch", object_id=batch.id, now=now,
        data={**counts, **({"problem": batch.problem_code} if batch.problem_code else {})},
    )  # fmt: skip
    session.flush()
    return batch


def _store_lines(
    session: Session, batch_id: int, lines: Sequence[ApprovalLine], plans: Sequence[LinePlan]
) -> None:
    read = {line.number: line for line in lines}
    rows = []
    for plan in plans:
        line = read.get(plan.number)
        rows.append(
            {
                "batch_id": batch_id, "number": plan.number, "decision_ref": plan.decision_ref[:60],
                "outcome": plan.outcome, "code": plan.code or None,
                "message": plan.message or None,
                "data": _to_json(line) if line is not None else "{}",
                "child_ref": line.child_ref if line else None,
                "child_key": child_key(line) if line else None,
                "category": line.category.value if line else None,
                "valid_from": line.valid_from if line else None,
                "valid_until": line.valid_until if line else None,
            }
        )  # fmt: skip
    if rows:
        session.execute(insert(ImportLine), rows)


def stored_plans(
    session: Session, batch_id: int, *, outcome: str | None = None, after: int = 0,
    limit: int | None = None,
) -> Iterator[LinePlan]:  # fmt: skip
    """The batch's lines with their outcomes (refused: why) in file order, read a chunk at
    a time: `outcome` only those, `after` from that line number on, at most `limit`."""
    left = limit
    while (size := approvals_file.CHUNK if left is None else min(approvals_file.CHUNK, left)) > 0:
        query = (
            select(ImportLine.number, ImportLine.decision_ref, ImportLine.outcome,
                   ImportLine.code, ImportLine.message)
            .where(ImportLine.batch_id == batch_id, ImportLine.number > after)
            .order_by(ImportLine.number)
            .limit(size)
        )  # fmt: skip
        if outcome is not None:
            query = query.where(ImportLine.outcome == outcome)
        rows = session.execute(query).all()
        for row in rows:
            yield LinePlan(row.number, row.decision_ref, row.outcome, row.code or "",
                           row.message or "")  # fmt: skip
        if len(rows) < size:
            return
        after = rows[-1].number
        if left is not None:
            left -= len(rows)


def record_import(
    session: Session, *, by: Staff, data: bytes, file_name: str, now: datetime
) -> ImportBatch:
    """Take the file in and check it at once, in this transaction (the command line): the
    batch waits for a second person. Refused whole (LinesRefused, FileRefused) when a line
    or the file is refused: the caller's rollback leaves nothing behind."""
    batch = queue_import(session, by=by, data=data, file_name=file_name, now=now)
    check_batch(session, batch, now=now)
    if batch.problem_code:
        raise FileRefused(batch.problem or "", code=batch.problem_code)
    if batch.status == "refused":
        count = json.loads(batch.counts)["refused"]
        raise LinesRefused(
            f"{count} line(s) are refused; nothing is recorded.",
            list(stored_plans(session, batch.id, outcome="refused")),
        )
    return batch


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
        session, issuer_id=by.issuer_id, actor=by.actor, action="import.reject",
        object_type="import_batch", object_id=batch.id, now=now,
    )  # fmt: skip
    return batch


def confirm_import(session: Session, *, by: Staff, batch_id: int, now: datetime) -> ImportBatch:
    """The second person confirms: every line is checked again against what is stored now
    and written and approved, a chunk at a time, in this one transaction (refused whole if a
    line fails now: the caller's rollback undoes the chunks already written)."""
    require_role(by, DECIDERS, "confirm imports")
    confirmer = _staff_id(by)
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
        lines = [_from_json(row.data) for row in rows]
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
        session, issuer_id=by.issuer_id, actor=by.actor, action="import.confirm",
        object_type="import_batch", object_id=batch.id, now=now, data=counts,
    )  # fmt: skip
    return batch
