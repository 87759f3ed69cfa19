"""Approvals from the case-management system, on the page: upload a file (checked by the
jobs, not in the request: a 100,000-line file takes a worker half a minute), follow its
progress, read its report (lines a page at a time, or as CSV), and — a second person —
confirm or reject it."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from issuer.auth import principal, require_roles
from issuer.letters import PART as LETTER_PART
from issuer.refusals import REFUSALS, refused
from youcard.domain.entitlement_rules import DEFAULT_RULES
from youcard.domain.models import ImportBatch
from youcard.errors import DomainError, NotFound
from youcard.imports.approvals_file import MAX_BYTES
from youcard.imports.batches import queue_import, stored_plans
from youcard.imports.confirmation import confirm_import, reject_import
from youcard.imports.plan import OUTCOMES, report_lines
from youcard.policy import ALL_STAFF, RECORDERS, staff_actor
from youcard.reads.actors import actor_names
from youcard.reads.imports import CHECKING, batch_of, batch_page, counts_of, lines_page, may_do
from youcard.web import db_session, now
from youcard.web.inputs import allow_upload

bp = Blueprint("imports", __name__)
PAGE = 50  # batches, and lines of one, per page

STATUS_NAMES = {
    "queued": _l("waiting to be checked"),
    "checking": _l("being checked"),
    "refused": _l("refused"),
    "checked": _l("checked (dry run)"),
    "recorded": _l("waiting for confirmation"),
    "confirmed": _l("confirmed"),
    "rejected": _l("rejected"),
}
OUTCOME_NAMES = {
    "created": _l("new"),
    "updated": _l("changed"),
    "unchanged": _l("unchanged"),
    "ended": _l("ended"),
    "refused": _l("refused"),
}


def init_imports(app: Flask) -> None:
    """The upload takes files up to the import's limit (every other request: 16 KB)."""
    allow_upload(app, "imports.upload", MAX_BYTES + 64 * 1024)  # the form's other fields
    allow_upload(app, "imports_api.Imports", MAX_BYTES)


@bp.app_context_processor
def _names() -> dict[str, object]:
    return {"reasons": REFUSALS, "outcome_names": OUTCOME_NAMES}


def _number(name: str) -> int | None:
    text = request.args.get(name, "")
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        abort(422)
    return int(text)


def _batch(batch_id: int) -> ImportBatch:
    try:
        return batch_of(db_session(), by=principal(), batch_id=batch_id)
    except NotFound:
        abort(404)


@bp.get("/imports")
@require_roles(*ALL_STAFF)
def index() -> ResponseReturnValue:
    """The issuer's imports, newest first, and (for caseworkers) the upload."""
    page = batch_page(db_session(), by=principal(), limit=PAGE, before=_number("before"))
    return render_template(
        "imports/index.html",
        page=page,
        names=actor_names(db_session(), {staff_actor(b.recorded_by_id) for b in page.batches}),
        status_names=STATUS_NAMES,
        counts_of=counts_of,
        max_mb=MAX_BYTES // 2**20,
        usual={category.value: rule for category, rule in DEFAULT_RULES.items()},
    )


@bp.post("/imports")
@require_roles(*RECORDERS)
def upload() -> ResponseReturnValue:
    """Take the file in; the jobs check it (the page shows the progress)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Please choose a file."), "error")
        return redirect(url_for("imports.index"), 303)
    try:
        batch = queue_import(
            db_session(),
            by=principal(),
            data=upload.read(MAX_BYTES + 1),
            file_name=upload.filename,
            now=now(),
            dry_run=request.form.get("dry_run") == "1",
        )
    except DomainError as error:
        refused(error)
        return redirect(url_for("imports.index"), 303)
    return redirect(url_for("imports.show", batch_id=batch.id), 303)


@bp.get("/imports/<int:batch_id>")
@require_roles(*ALL_STAFF)
def show(batch_id: int) -> ResponseReturnValue:
    """One import: progress while it is checked, its counts, a page of its lines, and the
    decision for a second person."""
    batch = _batch(batch_id)
    outcome = request.args.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        abort(422)
    lines = lines_page(
        db_session(),
        by=principal(),
        batch_id=batch.id,
        limit=PAGE,
        outcome=outcome,
        after=_number("after") or 0,
    )
    choices = may_do(batch, by=principal())
    families = choices.letters
    parts = [
        (n, n * LETTER_PART + 1, min((n + 1) * LETTER_PART, families))
        for n in range((families + LETTER_PART - 1) // LETTER_PART)
    ]
    return render_template(
        "imports/show.html",
        letter_parts=parts,
        families=families,
        batch=batch,
        lines=lines,
        outcome=outcome,
        counts=counts_of(batch),
        status_names=STATUS_NAMES,
        names=actor_names(
            db_session(),
            {
                staff_actor(i)
                for i in (batch.recorded_by_id, batch.confirmed_by_id)
                if i is not None
            },
        ),
        checking=batch.status in CHECKING,
        may_confirm=choices.confirm,
        may_reject=choices.reject,
    )


@bp.get("/imports/<int:batch_id>/progress")
@require_roles(*ALL_STAFF)
def progress(batch_id: int) -> ResponseReturnValue:
    """How far the check is (the page asks every few seconds while it runs)."""
    batch = _batch(batch_id)
    return jsonify(
        status=batch.status,
        done=batch.lines_done,
        total=max(batch.lines_total, batch.lines_done),
        checking=batch.status in CHECKING,
    )


@bp.get("/imports/<int:batch_id>/report.csv")
@require_roles(*ALL_STAFF)
def report(batch_id: int) -> ResponseReturnValue:
    """Every line with its outcome and reason, as CSV for a spreadsheet. Made whole (about
    6 MB for 100,000 lines) rather than streamed: a stream would hold the request's database
    transaction open while a slow client downloads (on SQLite, the write lock)."""
    batch = _batch(batch_id)
    text = "\ufeff" + "".join(report_lines(stored_plans(db_session(), batch.id)))
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{batch.id}-report.csv"'},
    )


@bp.post("/imports/<int:batch_id>/<any(confirm, reject):decision>")
@require_roles(*ALL_STAFF)
def decide(batch_id: int, decision: str) -> ResponseReturnValue:
    """The second person confirms (written and approved at once) or rejects the import."""
    batch = _batch(batch_id)
    decide_import = confirm_import if decision == "confirm" else reject_import
    try:
        decide_import(db_session(), by=principal(), batch_id=batch.id, now=now())
    except DomainError as error:
        refused(error)
    else:
        if decision == "confirm":
            flash(
                _("Import confirmed: its benefits are approved; their cards wait to be printed."),
                "info",
            )
        else:
            flash(_("Import rejected: nothing of it is written."), "info")
    return redirect(url_for("imports.show", batch_id=batch.id), 303)
