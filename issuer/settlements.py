"""Monthly settlement for administrators: prepare a month, review it, finalize, download
the CSVs and the SEPA payment file; the city's paying account."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from issuer.auth import principal, require_roles
from issuer.refusals import refused
from youcard.clock import DateOutOfRange, berlin_date, parse_month
from youcard.db import Session
from youcard.documents import settlement_files
from youcard.domain import budget
from youcard.domain.enums import SettlementStatus
from youcard.domain.models import Settlement
from youcard.errors import DomainError
from youcard.operations import settlements
from youcard.operations.issuers import set_issuer_account
from youcard.policy import ADMINISTRATORS
from youcard.reads.settlements import get_run, review, runs_of
from youcard.web import db_session, now

bp = Blueprint("settlements", __name__, url_prefix="/admin/settlements")
MONTHS_OFFERED = 12


def _run(settlement_id: int) -> Settlement:
    try:
        return get_run(db_session(), by=principal(), settlement_id=settlement_id)
    except DomainError:
        abort(404)  # another issuer's run is not found


def _prepare(month: date) -> Settlement:
    """Compute the month's run of this administrator's issuer (a draft, or the final run)."""
    return settlements.prepare(db_session(), by=principal(), month=month, now=now())


def _ended_months() -> list[date]:
    this_month = berlin_date(now()).replace(day=1)
    return [budget.add_months(this_month, -n) for n in range(1, MONTHS_OFFERED + 1)]


@bp.get("")
@require_roles(*ADMINISTRATORS)
def index() -> ResponseReturnValue:
    """The runs, a month to prepare, and the paying account."""
    seen = runs_of(db_session(), by=principal())
    return render_template(
        "admin/settlements.html", runs=seen.runs, months=_ended_months(), issuer=seen.issuer
    )


@bp.post("")
@require_roles(*ADMINISTRATORS)
def prepare() -> ResponseReturnValue:
    """Compute a month's run as a draft (or again)."""
    text = request.form.get("month") or ""
    try:
        month: date | None = parse_month(text)
    except DateOutOfRange:
        month = None
    if month is None:
        flash(_("Please choose a month."), "error")
        return redirect(url_for("settlements.index"))
    try:
        run = _prepare(month)
    except DomainError as error:
        refused(error)
        return redirect(url_for("settlements.index"))
    return redirect(url_for("settlements.show", settlement_id=run.id))


@bp.get("/<int:settlement_id>")
@require_roles(*ADMINISTRATORS)
def show(settlement_id: int) -> ResponseReturnValue:
    """Review a run: what each partner is paid, and its lines per category."""
    try:
        seen = review(db_session(), by=principal(), settlement_id=settlement_id)
    except DomainError:
        abort(404)  # another issuer's run is not found
    return render_template(
        "admin/settlement.html",
        run=seen.run,
        payments=seen.payments,
        lines=seen.lines,
        execution_date=settlement_files.next_working_day(berlin_date(now())),
        issuer=seen.issuer,
    )


@bp.post("/<int:settlement_id>/recompute")
@require_roles(*ADMINISTRATORS)
def recompute(settlement_id: int) -> ResponseReturnValue:
    """Compute a draft again (bookings may have arrived)."""
    run = _run(settlement_id)
    try:
        _prepare(run.month)
    except DomainError as error:
        refused(error)
    return redirect(url_for("settlements.show", settlement_id=settlement_id))


@bp.post("/<int:settlement_id>/finalize")
@require_roles(*ADMINISTRATORS)
def finalize(settlement_id: int) -> ResponseReturnValue:
    """Finalize what was reviewed: the bookings are locked and the payment file can be made."""
    run = _run(settlement_id)
    expected = request.form.get("expected_net_cents", "")
    if not expected.lstrip("-").isdigit():
        abort(400)
    try:
        with db_session().begin_nested():  # a refused finalize leaves nothing of itself
            settlements.finalize(
                db_session(),
                settlement_id=run.id,
                by=principal(),
                now=now(),
                expected_net_cents=int(expected),
            )
    except DomainError as error:
        changed = error.code == "changed_since_review"
        refused(error, undo=not changed)
        if changed:
            _prepare(run.month)  # the new numbers to review: these stay written
    else:
        flash(_("The month is finalized. Its bookings can no longer change."), "info")
    return redirect(url_for("settlements.show", settlement_id=settlement_id))


def _closing(store: Session, chunks: Iterator[str]) -> Iterator[str]:
    """Stream `chunks`, then close their session: the body is read after the request's
    teardown has let go of it (and on SQLite an open read would block every writer)."""
    try:
        yield from chunks
    finally:
        store.close()


def _download(body: object, name: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)  # type: ignore[arg-type]
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/<int:settlement_id>/<any(lines, payments, bookings):kind>.csv")
@require_roles(*ADMINISTRATORS)
def csv_file(settlement_id: int, kind: str) -> ResponseReturnValue:
    """A CSV of the run (semicolons, German decimal commas)."""
    run = _run(settlement_id)
    store = db_session()
    body: object
    if kind == "lines":
        body = settlement_files.lines_csv(store, run)
    elif kind == "payments":
        body = settlement_files.payments_csv(store, run)
    else:
        body = _closing(store, settlement_files.bookings_csv(store, run))  # streamed
    status = "" if run.status is SettlementStatus.FINALIZED else "-draft"
    return _download(body, f"youcard-{run.month:%Y-%m}{status}-{kind}.csv", "text/csv")


@bp.get("/<int:settlement_id>/sepa.xml")
@require_roles(*ADMINISTRATORS)
def sepa(settlement_id: int) -> ResponseReturnValue:
    """The SEPA credit transfer file of a finalized run, for the chosen execution date."""
    run = _run(settlement_id)
    try:
        execution = settlement_files.execution_day(
            request.args.get("execution_date", "")[:40], berlin_date(now())
        )
        xml = settlement_files.sepa_xml(db_session(), run, execution_date=execution)
    except DomainError as error:
        refused(error, undo=False)
        return redirect(url_for("settlements.show", settlement_id=settlement_id))
    return _download(xml, f"youcard-{run.month:%Y-%m}-sepa.xml", "application/xml")


@bp.post("/account")
@require_roles(*ADMINISTRATORS)
def account() -> ResponseReturnValue:
    """Set the city's account that pays the partners."""
    try:
        set_issuer_account(
            db_session(),
            by=principal(),
            iban=request.form.get("iban", "")[:42],
            bic=request.form.get("bic", "")[:11],
            now=now(),
        )
    except DomainError as error:
        refused(error)
    else:
        flash(_("The account is saved."), "info")
    return redirect(url_for("settlements.index"))
