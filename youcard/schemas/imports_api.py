"""The staff API's import formats: a batch with its state and counts, a page of batches or
of a batch's lines (with a cursor, like the partner API's bookings)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from youcard.domain.models import ImportBatch
from youcard.imports.plan import OUTCOMES, LinePlan
from youcard.reads.imports import counts_of


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class UploadQuery(_Strict):
    file_name = fields.String(load_default="import.csv", validate=validate.Length(min=1, max=200))
    dry_run = fields.Boolean(load_default=False)


class PageQuery(_Strict):
    cursor = fields.String(validate=validate.Length(max=40))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))


class LinesQuery(PageQuery):
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))


class ProblemOut(Schema):
    code = fields.String()
    detail = fields.String()


class ImportOut(Schema):
    id = fields.Integer()
    file_name = fields.String()
    status = fields.String(
        metadata={
            "description": "queued, checking (the jobs check it), refused, checked (a dry "
            "run), recorded (waits for a second person), confirmed, rejected"
        }
    )
    dry_run = fields.Boolean()
    lines_total = fields.Integer(metadata={"description": "about how many lines the file has"})
    lines_done = fields.Integer(metadata={"description": "lines checked so far"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    problem = fields.Nested(ProblemOut, allow_none=True)
    recorded_by_id = fields.Integer()
    recorded_at = fields.DateTime()
    confirmed_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class ImportPageOut(Schema):
    items = fields.List(fields.Nested(ImportOut))
    next_cursor = fields.String(allow_none=True, required=True)


class LineOut(Schema):
    line = fields.Integer()
    decision_ref = fields.String()
    outcome = fields.String()
    code = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class LinePageOut(Schema):
    items = fields.List(fields.Nested(LineOut))
    total = fields.Integer(metadata={"description": "lines of the chosen outcome (or all)"})
    next_cursor = fields.String(allow_none=True, required=True)


def import_json(batch: ImportBatch) -> dict[str, Any]:
    """A batch as the staff API shows it (never the file's content)."""
    return {
        "id": batch.id,
        "file_name": batch.file_name,
        "status": batch.status,
        "dry_run": batch.dry_run,
        "lines_total": max(batch.lines_total, batch.lines_done),
        "lines_done": batch.lines_done,
        "counts": counts_of(batch),
        "problem": {"code": batch.problem_code, "detail": batch.problem}
        if batch.problem_code
        else None,
        "recorded_by_id": batch.recorded_by_id,
        "recorded_at": batch.recorded_at,
        "confirmed_by_id": batch.confirmed_by_id,
        "decided_at": batch.decided_at,
    }


def line_json(plan: LinePlan) -> dict[str, Any]:
    return {
        "line": plan.number,
        "decision_ref": plan.decision_ref,
        "outcome": plan.outcome,
        "code": plan.code or None,
        "reason": plan.message or None,
    }
