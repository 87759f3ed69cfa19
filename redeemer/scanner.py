"""The scanner page for partner staff: sign in, scan, see what is left, book, receipt, cancel.

Works without JavaScript (paste the code, plain forms); with it, the camera (jsQR,
vendored) fills in the code, and booking is sent with fetch so that a lost answer can
be retried with the same Idempotency-Key: it books once.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from redeemer.counter import trusted
from redeemer.staff_auth import (
    PartnerStaff,
    current_counter,
    signed_in,
    wants_json,
)
from redeemer.wording import CARD_REASONS, REFUSALS, euro, parse_euros
from youcard.clock import DateOutOfRange, berlin_date, parse_day
from youcard.documents.receipts import own_booking
from youcard.documents.receipts import receipt as receipt_of
from youcard.domain.models import Booking, PartnerUser
from youcard.errors import DomainError, InvalidRequest
from youcard.operations.booking import book, cancel_booking, shown_card
from youcard.operations.list_bookings import (
    LIST_MAX_BYTES,
    book_read_list,
    read_list,
    result_csv,
)
from youcard.operations.mandates import (
    MandateTerms,
    create_mandate,
    end_mandate,
    partner_mandates,
)
from youcard.operations.staff import end_sessions, sign_in_partner_user
from youcard.reads.counter import check_card
from youcard.web import db_session, now, undo_writes
from youcard.web.names import category_name
from youcard.web.problems import status_of
from youcard.web.signin import sign_in_page

bp = Blueprint("scanner", __name__)


MAX_CREDENTIAL_FIELD = 4096


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"euro": euro, "category_name": category_name}


@bp.get("/")
def index() -> ResponseReturnValue:
    """Straight to the scanner (or the sign-in)."""
    return redirect(url_for("scanner.scan"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Partner staff sign in (argon2id, lockout after 5 failures, rate limit per address)."""
    return sign_in_page(
        lambda store, username, password, address: sign_in_partner_user(
            store, username=username, password=password, address=address, now=now()
        ),
        lambda user: PartnerStaff(user.id, user.display_name),
        lambda: url_for("scanner.scan"),
    )


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out (a POST with the CSRF token, never a link): ends the session on the server."""
    if current_user.is_authenticated:
        user = db_session().get(PartnerUser, current_user.id)
        if user is not None:
            end_sessions(user)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("scanner.login"))


@bp.get("/scan")
@signed_in
def scan() -> ResponseReturnValue:
    """The camera, and the fallbacks: type or paste the code, or take a photo."""
    return render_template("scan.html")


@bp.post("/scan")
@signed_in
def check() -> ResponseReturnValue:
    """The scanned card: valid with the child and what is left, or why not."""
    text = (request.form.get("credential") or "").strip()[:MAX_CREDENTIAL_FIELD]
    if not text:
        flash(_("Please scan a card or enter its code."), "error")
        return render_template("scan.html"), 400
    return _result(text)


def _result(
    text: str, *, error: str | None = None, status: int = 200, mandate_error: str | None = None
) -> ResponseReturnValue:
    result = check_card(
        db_session(),
        by=current_counter(),
        credential=text,
        at=now(),
        trusted=trusted(db_session()),
    )
    if not result["valid"]:
        reason = CARD_REASONS.get(result["reason"], CARD_REASONS["malformed"])
        return render_template("result.html", result=result, reason=reason), status
    return (
        render_template(
            "result.html",
            result=result,
            credential=text,
            # what was left, kept by the page for booking this card offline later
            seen_available={
                e["category"]: e["available_cents"]
                for e in result["entitlements"]
                if e["available_cents"] is not None
            },
            # One key per booking attempt: a double click or a retry after a lost answer
            # sends this same key again and books once.
            idempotency_key=uuid.uuid4().hex,
            error=error,
            mandate_error=mandate_error,
        ),
        status,
    )


@bp.post("/book")
@signed_in
def book_here() -> ResponseReturnValue:
    """Book from the result page; answers JSON to fetch(), else redirects to the receipt."""
    counter, at = current_counter(), now()
    text = (request.form.get("credential") or "").strip()[:MAX_CREDENTIAL_FIELD]
    key = (request.form.get("idempotency_key") or "").strip()
    cents = parse_euros(request.form.get("amount") or "")
    units_text = (request.form.get("units") or "").strip()
    keys = trusted(db_session())
    try:
        if cents is None or (units_text and not units_text.isdigit()):
            shown_card(text, trusted=keys, now=at)  # a refused card is said first, as verify
            field = "invalid_amount" if cents is None else "invalid_units"
            raise _Refused(str(REFUSALS[field]))
        result = book(  # verifies the card itself
            db_session(),
            by=counter,
            credential=text,
            trusted=keys,
            category=request.form.get("category") or "",
            amount_cents=cents,
            units=int(units_text) if units_text else None,
            reference=request.form.get("reference") or None,
            idempotency_key=key,
            now=at,
        )
    except DomainError as error:
        undo_writes(error)
        reason = (
            CARD_REASONS.get(error.details.get("reason", ""), error.message)
            if error.code == "credential_invalid"
            else REFUSALS.get(error.code, error.message)
        )
        return _refusal(text, str(reason), status_of(error))
    except _Refused as refused:
        return _refusal(text, refused.message, 422)
    receipt = url_for("scanner.receipt", booking_id=result.booking.id)
    if wants_json():
        return jsonify(receipt=receipt, replayed=result.replayed), 201
    return redirect(receipt, 303)


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _refusal(text: str, message: str, status: int) -> ResponseReturnValue:
    if wants_json():
        return jsonify(error=message), status
    if not text:
        flash(message, "error")
        return redirect(url_for("scanner.scan"))
    return _result(text, error=message, status=status)


def _own_booking(booking_id: int) -> Booking:
    try:
        return own_booking(
            db_session(), partner_id=current_counter().partner_id, booking_id=booking_id
        )
    except DomainError:
        abort(404)  # another partner's booking: not found, never "forbidden"


@bp.get("/receipts/<int:booking_id>")
@signed_in
def receipt(booking_id: int) -> ResponseReturnValue:
    """The receipt: booking number, amount, what is left now; cancel from here."""
    try:
        seen = receipt_of(
            db_session(),
            partner_id=current_counter().partner_id,
            booking_id=booking_id,
            today=berlin_date(now()),
        )
    except DomainError:
        abort(404)  # another partner's booking: not found, never "forbidden"
    return render_template(
        "receipt.html",
        booking=seen.booking,
        given_name=seen.given_name,
        left=seen.left,
        cancelled=seen.cancelled,
        settled=seen.settled,
        created=format_datetime(seen.booking.created_at, "short"),
    )


@bp.post("/bookings/<int:booking_id>/cancel")
@signed_in
def cancel(booking_id: int) -> ResponseReturnValue:
    """Cancel one of this partner's bookings (twice is harmless)."""
    counter = current_counter()
    _own_booking(booking_id)
    try:
        cancel_booking(db_session(), by=counter, booking_id=booking_id, now=now())
    except DomainError as error:
        undo_writes()
        flash(str(REFUSALS.get(error.code, error.message)), "error")
    else:
        flash(_("The booking is cancelled."), "info")
    return redirect(url_for("scanner.receipt", booking_id=booking_id), 303)


@bp.post("/mandates")
@signed_in
def make_mandate() -> ResponseReturnValue:
    """A standing authorization from the result page: the card was just shown."""
    counter, at = current_counter(), now()
    text = (request.form.get("credential") or "").strip()[:MAX_CREDENTIAL_FIELD]
    amount_text = (request.form.get("monthly_amount") or "").strip()
    day_text = (request.form.get("day_of_month") or "").strip()
    cents = parse_euros(amount_text) if amount_text else None
    if amount_text and cents is None:
        return _result(text, mandate_error=str(REFUSALS["invalid_amount"]), status=422)
    if day_text and not day_text.isdigit():
        return _result(text, mandate_error=str(REFUSALS["invalid_day"]), status=422)
    start_text = (request.form.get("valid_from") or "").strip()[:20]
    try:
        starts = parse_day(start_text) if start_text else None
    except DateOutOfRange:
        return _result(text, mandate_error=str(REFUSALS["invalid_period"]), status=422)
    try:
        mandate = create_mandate(
            db_session(),
            by=counter,
            credential=text,
            trusted=trusted(db_session()),
            now=at,
            terms=MandateTerms(
                category=request.form.get("category") or "",
                reference=request.form.get("mandate_reference") or "",
                monthly_amount_cents=cents,
                day_of_month=int(day_text[:2]) if day_text else None,
                valid_from=starts,
            ),
        )
    except DomainError as error:  # an error status: the unit of work rolls back
        reason = str(REFUSALS.get(error.code, error.message))
        return _result(text, mandate_error=reason, status=status_of(error))
    flash(_("Standing authorization %(reference)s made.", reference=mandate.reference), "info")
    return redirect(url_for("scanner.mandates"), 303)


@bp.get("/mandates")
@signed_in
def mandates() -> ResponseReturnValue:
    """This partner's standing authorizations with their last instalment, newest first."""
    before = request.args.get("before", "")
    if before and (not before.isdigit() or len(before) > 18):
        abort(422)
    page = partner_mandates(
        db_session(), by=current_counter(), limit=100, before=int(before) if before else None
    )
    return render_template("mandates.html", page=page, before=before, refusals=REFUSALS)


@bp.post("/mandates/<int:mandate_id>/end")
@signed_in
def end_mandate_here(mandate_id: int) -> ResponseReturnValue:
    """End one of this partner's standing authorizations."""
    try:
        end_mandate(db_session(), by=current_counter(), mandate_id=mandate_id, now=now())
    except DomainError:
        abort(404)  # another partner's: not found
    flash(_("The standing authorization is ended."), "info")
    return redirect(url_for("scanner.mandates"), 303)


LIST_COLUMNS = ("reference", "service_date", "units", "amount_cents", "line_id")


@bp.route("/lists", methods=["GET", "POST"])
@signed_in
def lists() -> ResponseReturnValue:
    """A list of lunches or lessons as CSV (docs/partner-api.md), booked line by line against
    this partner's standing authorizations; the result per line, or as CSV."""
    if request.method == "GET":
        return render_template("lists.html", results=None)
    upload = request.files.get("file")
    data = upload.read(LIST_MAX_BYTES + 1) if upload is not None else b""
    try:
        items = read_list(data)
    except InvalidRequest as error:
        flash(error.message, "error")
        return render_template("lists.html", results=None), 422
    results = book_read_list(db_session(), by=current_counter(), items=items, now=now())
    if request.form.get("as_csv") == "1":
        response = Response("\ufeff" + "".join(result_csv(results)), mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="youcard-liste.csv"'
        return response
    counted = {
        "new": sum(1 for r in results if r.status == "booked" and not r.replayed),
        "before": sum(1 for r in results if r.status == "booked" and r.replayed),
        "refused": sum(1 for r in results if r.status != "booked"),
    }
    return render_template("lists.html", results=results, counted=counted, refusals=REFUSALS)
