"""The staff API's imports: the case-management system posts its approvals file (the jobs
check it; the answer says where to follow it), reads the batch and its lines, and a second
person confirms or rejects it."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask.views import MethodView
from marshmallow import RAISE

from issuer.api import authenticate, errors, principal, roles
from youcard.domain.enums import Role
from youcard.errors import InvalidRequest
from youcard.imports.approvals_file import MAX_BYTES
from youcard.imports.batches import queue_import
from youcard.imports.confirmation import confirm_import, reject_import
from youcard.policy import DECIDERS, RECORDERS
from youcard.reads.imports import batch_of, batch_page, lines_page
from youcard.schemas.imports_api import (
    ImportOut,
    ImportPageOut,
    LinePageOut,
    LinesQuery,
    PageQuery,
    UploadQuery,
    import_json,
    line_json,
)
from youcard.web import db_session, now
from youcard.web.cursors import decode_cursor, encode_cursor
from youcard.web.smorest import Blueprint

blp = Blueprint("imports_api", __name__, url_prefix="/api/v1", description="Imports")
blp.before_request(authenticate)
ALL = tuple(Role)
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


@blp.route("/imports")
class Imports(MethodView):
    @blp.arguments(PageQuery(), location="query", unknown=RAISE)
    @blp.response(200, ImportPageOut)
    @errors
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """This issuer's imports, newest first; `next_cursor` fetches the next page."""
        before = decode_cursor(query["cursor"]) if "cursor" in query else None
        page = batch_page(db_session(), by=principal(), limit=query["limit"], before=before)
        return {
            "items": [import_json(batch) for batch in page.batches],
            "next_cursor": encode_cursor(page.next_before) if page.next_before else None,
        }

    @roles(*RECORDERS)
    @blp.arguments(UploadQuery(), location="query", unknown=RAISE)
    @blp.doc(
        requestBody={
            "required": True,
            "description": "The approvals file as docs/imports.md describes it (UTF-8 CSV, at most "
            f"{MAX_BYTES // 2**20} MB).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    )
    @blp.response(202, ImportOut)
    @errors
    def post(self, query: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Take an approvals file in (caseworker, administrator): the jobs check it line by
        line; follow it at `Location` until its status is no longer queued or checking."""
        if request.mimetype not in CSV_TYPES:
            raise InvalidRequest(
                "Send the file as the body with Content-Type: text/csv.", code="not_csv"
            )
        batch = queue_import(
            db_session(),
            by=principal(),
            data=request.get_data(cache=False),
            file_name=query["file_name"],
            now=now(),
            dry_run=query["dry_run"],
        )
        location = url_for("imports_api.ImportOne", batch_id=batch.id)
        return import_json(batch), 202, {"Location": location}


@blp.route("/imports/<int:batch_id>")
class ImportOne(MethodView):
    @roles(*ALL)
    @blp.response(200, ImportOut)
    @errors
    def get(self, batch_id: int) -> dict[str, Any]:
        """One import: its state, progress and counts."""
        return import_json(batch_of(db_session(), by=principal(), batch_id=batch_id))


@blp.route("/imports/<int:batch_id>/lines")
class ImportLines(MethodView):
    @blp.arguments(LinesQuery(), location="query", unknown=RAISE)
    @blp.response(200, LinePageOut)
    @errors
    def get(self, query: dict[str, Any], batch_id: int) -> dict[str, Any]:
        """The import's lines in file order (all, or one outcome) with their reasons."""
        after = decode_cursor(query["cursor"]) if "cursor" in query else 0
        page = lines_page(
            db_session(),
            by=principal(),
            batch_id=batch_id,
            limit=query["limit"],
            outcome=query.get("outcome"),
            after=after,
        )
        return {
            "items": [line_json(plan) for plan in page.lines],
            "total": page.total,
            "next_cursor": encode_cursor(page.next_after) if page.next_after else None,
        }


@blp.route("/imports/<int:batch_id>/confirm")
class ImportConfirm(MethodView):
    @roles(*DECIDERS)
    @blp.response(200, ImportOut)
    @errors
    def post(self, batch_id: int) -> dict[str, Any]:
        """A second person (approver, administrator) confirms a recorded import: every line
        checked again, written and approved at once."""
        return import_json(
            confirm_import(db_session(), by=principal(), batch_id=batch_id, now=now())
        )


@blp.route("/imports/<int:batch_id>/reject")
class ImportReject(MethodView):
    @roles(*ALL)
    @blp.response(200, ImportOut)
    @errors
    def post(self, batch_id: int) -> dict[str, Any]:
        """Reject a recorded import (also who uploaded it): nothing of it is written."""
        return import_json(
            reject_import(db_session(), by=principal(), batch_id=batch_id, now=now())
        )
