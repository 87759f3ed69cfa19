"""The scanner page for partner staff: sign in, scan, see what is left, book, receipt, cancel.

Works without JavaScript (paste the code, plain forms); with it, the camera (jsQR,
vendored) fills in the code, and booking is sent with fetch so that a lost answer can
be retried with the same Idempotency-Key: it books once.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_currency, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from redeemer.counter import (
    Counter,
    check_card,
    credit_note_download,
    list_bookings,
    staff_counter,
    start_of,
    statement,
    trusted,
)
from youcard import budget
from youcard.clock import DateOutOfRange, berlin_date, parse_month
from youcard.credit_notes import credit_notes
from youcard.enums import BookingKind, Category
from youcard.errors import DomainError
from youcard.models import Booking, Child, Entitlement, PartnerUser
from youcard.operations.bookings import book, shown_card
from youcard.operations.cancellations import cancel_booking
from youcard.operations.entitlements import availability
from youcard.operations.staff import end_sessions, sign_in_partner_user
from youcard.settlement_files import csv_text, euros
from youcard.web import db_session, now
from youcard.web.problems import status_of
from youcard.web.signin import session_is_current, sign_in_page

bp = Blueprint("scanner", __name__)
login_manager = LoginManager()
login_manager.login_view = "scanner.login"
login_manager.session_protection = "strong"

F = TypeVar("F", bound=Callable[..., Any])

CATEGORY_NAMES = {
    Category.PARTICIPATION: _l("Social and cultural participation"),
    Category.LUNCH: _l("School lunch"),
    Category.TUTORING: _l("Tutoring"),
    Category.TRIPS: _l("Trips and class trips"),
}
# Why a card cannot be used, in plain words (the credential's reason codes).
CARD_REASONS = {
    "revoked": _l("Card blocked"),
    "expired": _l("Card expired"),
    "malformed": _l("Not a YouCard code"),
    "bad_signature": _l("Card not genuine"),
    "unknown_key": _l("Card not genuine"),
    "unknown_issuer": _l("Card from an unknown city"),
}
REFUSALS = {
    "insufficient_budget": _l("Not enough left for this amount."),
    "category_not_permitted": _l("You may not book this category."),
    "daily_limit_reached": _l("The child already had what is allowed today."),
    "entitlement_inactive": _l("This benefit is not approved (any more)."),
    "outside_period": _l("This benefit is not valid today."),
    "no_entitlement": _l("The child has no benefit in this category."),
    "units_required": _l("Please enter the number of units."),
    "unit_cap_exceeded": _l("The amount is above what one unit may cost."),
    "invalid_units": _l("Please enter a whole number of units."),
    "invalid_amount": _l("Please enter an amount in euros, e.g. 15,00."),
    "invalid_reference": _l("The note is too long."),
    "invalid_category": _l("Please choose a category."),
    "partner_inactive": _l("Your organisation may not book at present."),
    "booking_not_found": _l("There is no such booking."),
    "idempotency_key_reused": _l("Please scan the card again."),
}
_EUROS = re.compile(r"(\d{1,6})(?:[.,](\d{1,2}))?")
MAX_CREDENTIAL_FIELD = 4096


@dataclass
class PartnerStaff(UserMixin):  # type: ignore[misc]
    """The signed-in partner staff member."""

    id: int
    display_name: str


@login_manager.user_loader
def _load(user_id: str) -> PartnerStaff | None:
    if not user_id.isdigit():
        return None
    counter = staff_counter(db_session(), int(user_id))
    if counter is None:
        return None  # deactivated user or suspended partner: signed out at once
    user = db_session().get(PartnerUser, counter.partner_user_id)  # loaded just now: no query
    assert user is not None
    if not session_is_current(user.session_generation):
        return None  # signed out (on any device) since: this session is over
    g.counter = counter
    return PartnerStaff(user.id, user.display_name)


@login_manager.unauthorized_handler
def _unauthorized() -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error=_("Your sign-in has ended. Please sign in again."), signin=True), 401
    flash(_("Please sign in."), "info")
    return redirect(url_for("scanner.login", next=request.path))


def signed_in(view: F) -> F:
    """The page needs a signed-in partner staff member of an active partner."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _counter() -> Counter:
    counter: Counter = g.counter
    return counter


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def euro(cents: int | None) -> str:
    """An amount of money in the page's language."""
    return "—" if cents is None else str(format_currency(Decimal(cents) / 100, "EUR"))


def parse_euros(text: str) -> int | None:
    """Cents from "15", "15,5", "15,50" or "15.50"; None for anything else."""
    match = _EUROS.fullmatch(text.strip().replace("€", "").strip())
    if match is None:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"euro": euro, "category_name": lambda c: CATEGORY_NAMES[Category(c)]}


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
            db_session().commit()
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


def _result(text: str, *, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    result = check_card(db_session(), _counter(), text, now())
    if not result["valid"]:
        reason = CARD_REASONS.get(result["reason"], CARD_REASONS["malformed"])
        return render_template("result.html", result=result, reason=reason), status
    return (
        render_template(
            "result.html",
            result=result,
            credential=text,
            # One key per booking attempt: a double click or a retry after a lost answer
            # sends this same key again and books once.
            idempotency_key=uuid.uuid4().hex,
            error=error,
        ),
        status,
    )


@bp.post("/book")
@signed_in
def book_here() -> ResponseReturnValue:
    """Book from the result page; answers JSON to fetch(), else redirects to the receipt."""
    counter, at = _counter(), now()
    text = (request.form.get("credential") or "").strip()[:MAX_CREDENTIAL_FIELD]
    key = (request.form.get("idempotency_key") or "").strip()
    cents = parse_euros(request.form.get("amount") or "")
    units_text = (request.form.get("units") or "").strip()
    try:
        shown_card(text, trusted=trusted(db_session()), now=at)  # the card first, as verify
        if cents is None:
            raise _Refused(str(REFUSALS["invalid_amount"]))
        if units_text and not units_text.isdigit():
            raise _Refused(str(REFUSALS["invalid_units"]))
        result = book(
            db_session(),
            partner_id=counter.partner_id,
            credential=text,
            trusted=trusted(db_session()),
            category=request.form.get("category") or "",
            amount_cents=cents,
            units=int(units_text) if units_text else None,
            reference=request.form.get("reference") or None,
            idempotency_key=key,
            actor=counter.actor,
            now=at,
        )
    except DomainError as error:
        db_session().rollback()
        reason = (
            CARD_REASONS.get(error.details.get("reason", ""), error.message)
            if error.code == "credential_invalid"
            else REFUSALS.get(error.code, error.message)
        )
        return _refusal(text, str(reason), status_of(error))
    except _Refused as refused:
        return _refusal(text, refused.message, 422)
    receipt = url_for("scanner.receipt", booking_id=result.booking.id)
    if _wants_json():
        return jsonify(receipt=receipt, replayed=result.replayed), 201
    return redirect(receipt, 303)


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _refusal(text: str, message: str, status: int) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error=message), status
    if not text:
        flash(message, "error")
        return redirect(url_for("scanner.scan"))
    return _result(text, error=message, status=status)


def _own_booking(booking_id: int) -> Booking:
    booking = db_session().get(Booking, booking_id)
    if (
        booking is None
        or booking.partner_id != _counter().partner_id
        or booking.kind is not BookingKind.BOOKING
    ):
        abort(404)  # another partner's booking: not found, never "forbidden"
    return booking


@bp.get("/receipts/<int:booking_id>")
@signed_in
def receipt(booking_id: int) -> ResponseReturnValue:
    """The receipt: booking number, amount, what is left now; cancel from here."""
    store = db_session()
    booking = _own_booking(booking_id)
    entitlement, birth_date, given_name = store.execute(
        select(Entitlement, Child.birth_date, Child.given_name)
        .join(Child, Child.id == Entitlement.child_id)
        .where(Entitlement.id == booking.entitlement_id)
    ).one()
    cancelled = store.scalar(select(Booking.id).where(Booking.cancels_id == booking.id)) is not None
    left = availability(entitlement, birth_date, berlin_date(now()))
    return render_template(
        "receipt.html",
        booking=booking,
        given_name=given_name,
        left=left,
        cancelled=cancelled,
        created=format_datetime(booking.created_at, "short"),
    )


@bp.post("/bookings/<int:booking_id>/cancel")
@signed_in
def cancel(booking_id: int) -> ResponseReturnValue:
    """Cancel one of this partner's bookings (twice is harmless)."""
    counter = _counter()
    _own_booking(booking_id)
    try:
        cancel_booking(
            db_session(),
            partner_id=counter.partner_id,
            booking_id=booking_id,
            actor=counter.actor,
            now=now(),
        )
    except DomainError as error:
        db_session().rollback()
        flash(str(REFUSALS.get(error.code, error.message)), "error")
    else:
        flash(_("The booking is cancelled."), "info")
    return redirect(url_for("scanner.receipt", booking_id=booking_id), 303)


@bp.get("/bookings")
@signed_in
def today() -> ResponseReturnValue:
    """Today's bookings of this partner."""
    day = berlin_date(now())
    records, more = list_bookings(db_session(), _counter().partner_id, limit=500, from_=day, to=day)
    return render_template("bookings.html", records=records, more=more, day=day)


def _month() -> date:
    text = request.args.get("month") or berlin_date(now()).strftime("%Y-%m")
    try:
        return parse_month(text)
    except DateOutOfRange:
        abort(422)


@bp.get("/statement")
@signed_in
def monthly_statement() -> ResponseReturnValue:
    """The month's bookings per category, provisional until the month is settled."""
    first = _month()
    data = statement(db_session(), _counter(), first)
    previous = budget.add_months(first, -1).strftime("%Y-%m")
    following = budget.add_months(first, 1).strftime("%Y-%m")
    notes = credit_notes(db_session(), partner_id=_counter().partner_id)
    return render_template(
        "statement.html",
        data=data,
        previous=previous,
        following=following,
        first=first,
        notes=notes,
    )


@bp.get("/credit-notes/<int:payment_id>.pdf")
@signed_in
def credit_note_file(payment_id: int) -> ResponseReturnValue:
    """A credit note of this partner as PDF (another partner's is not found)."""
    try:
        return credit_note_download(db_session(), _counter().partner_id, payment_id)
    except DomainError:
        abort(404)


@bp.get("/statement.csv")
@signed_in
def statement_csv() -> ResponseReturnValue:
    """The month's bookings and cancellations, a line each (semicolon CSV, as German
    spreadsheets expect)."""
    first = _month()
    counter = _counter()
    last = budget.add_months(first, 1)
    rows = db_session().execute(
        select(Booking)
        .where(
            Booking.partner_id == counter.partner_id,
            Booking.created_at >= start_of(first),
            Booking.created_at < start_of(last),
        )
        .order_by(Booking.id)
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [
            "booking",
            "kind",
            "cancels",
            "created_at",
            "service_date",
            "category",
            "amount_eur",
            "units",
            "reference",
        ]
    )
    for (row,) in rows:
        sign = -1 if row.kind is BookingKind.CANCELLATION else 1
        writer.writerow(
            [
                row.id,
                row.kind.value,
                row.cancels_id or "",
                row.created_at.isoformat(),
                row.service_date.isoformat(),
                row.category.value,
                euros(sign * row.amount_cents),
                row.units,
                csv_text(row.reference or ""),
            ]
        )
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="youcard-{first.strftime("%Y-%m")}.csv"'
    )
    return response
