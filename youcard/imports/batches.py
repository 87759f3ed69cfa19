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

from sqlalchemy import delete, insert, select

from youcard import audit
from youcard.clock import berlin_date
from youcard.db import Session, refusing_duplicates
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Accrual, Category, RuleKind
from youcard.domain.models import (
    ImportBatch,
    ImportLine,
    StaffUser,
)
from youcard.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidRequest,
)
from youcard.imports import approvals_file
from youcard.imports.approvals_file import (
    ApprovalLine,
    FileRefused,
    check_file,
    count_lines,
    in_chunks,
)
from youcard.imports.earlier import StoredEarlier, child_key
from youcard.imports.plan import OUTCOMES, LinePlan, Planner
from youcard.policy import ALL_STAFF, RECORDERS, Staff, require_role, staff_actor


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
            "number": line.number,
            "decision_ref": line.decision_ref,
            "case_ref": line.case_ref,
            "child_ref": line.child_ref,
            "family_name": line.family_name,
            "given_name": line.given_name,
            "birth_date": line.birth_date.isoformat(),
            "category": line.category.value,
            "valid_from": line.valid_from.isoformat(),
            "valid_until": line.valid_until.isoformat(),
            "legal_basis": line.legal_basis,
            "status": line.status,
            "rule": {
                "kind": rule.kind.value,
                "amount_cents": rule.amount_cents,
                "accrual": rule.accrual.value,
                "units_total": rule.units_total,
                "units_per_day": rule.units_per_day,
            },
        },
        ensure_ascii=False,
    )


def stored_line(text: str) -> ApprovalLine:
    """An approvals line as the batch stored it (import_lines.data)."""
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
    session: Session,
    *,
    by: Staff,
    data: bytes,
    file_name: str,
    now: datetime,
    dry_run: bool = False,
) -> ImportBatch:
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
        lambda: Conflict(
            "This file already waits to be checked or confirmed.", code="import_waiting"
        ),
    ):
        session.add(batch)
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="import.upload",
        object_type="import_batch",
        object_id=batch.id,
        now=now,
        data={"lines": batch.lines_total, "dry_run": dry_run},
    )
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
        session,
        issuer_id=batch.issuer_id,
        actor=staff_actor(batch.recorded_by_id),
        action=action,
        object_type="import_batch",
        object_id=batch.id,
        now=now,
        data={**counts, **({"problem": batch.problem_code} if batch.problem_code else {})},
    )
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
                "batch_id": batch_id,
                "number": plan.number,
                "decision_ref": plan.decision_ref[:60],
                "outcome": plan.outcome,
                "code": plan.code or None,
                "message": plan.message or None,
                "data": _to_json(line) if line is not None else "{}",
                "child_ref": line.child_ref if line else None,
                "child_key": child_key(line) if line else None,
                "category": line.category.value if line else None,
                "valid_from": line.valid_from if line else None,
                "valid_until": line.valid_until if line else None,
            }
        )
    if rows:
        session.execute(insert(ImportLine), rows)


def stored_plans(
    session: Session,
    batch_id: int,
    *,
    outcome: str | None = None,
    after: int = 0,
    limit: int | None = None,
) -> Iterator[LinePlan]:
    """The batch's lines with their outcomes (refused: why) in file order, read a chunk at
    a time: `outcome` only those, `after` from that line number on, at most `limit`."""
    left = limit
    while (size := approvals_file.CHUNK if left is None else min(approvals_file.CHUNK, left)) > 0:
        query = (
            select(
                ImportLine.number,
                ImportLine.decision_ref,
                ImportLine.outcome,
                ImportLine.code,
                ImportLine.message,
            )
            .where(ImportLine.batch_id == batch_id, ImportLine.number > after)
            .order_by(ImportLine.number)
            .limit(size)
        )
        if outcome is not None:
            query = query.where(ImportLine.outcome == outcome)
        rows = session.execute(query).all()
        for row in rows:
            yield LinePlan(
                row.number, row.decision_ref, row.outcome, row.code or "", row.message or ""
            )
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
