"""The scanner's month pages for partner staff: today's bookings, the monthly statement
(provisional until the month is settled), its CSV and the credit notes. Routes of the
scanner's blueprint (`redeemer.scanner.bp`).
"""

from __future__ import annotations

from datetime import date

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from redeemer.counter import credit_note_download
from redeemer.scanner import bp
from redeemer.staff_auth import current_counter, signed_in
from redeemer.wording import OFFLINE_REASONS
from youcard.clock import DateOutOfRange, berlin_date, parse_month
from youcard.documents.credit_notes import credit_notes
from youcard.documents.receipts import month_csv
from youcard.domain import budget
from youcard.errors import DomainError
from youcard.reads.counter import list_bookings, statement
from youcard.reads.offline import partner_offline_bookings
from youcard.web import db_session, now


@bp.get("/bookings")
@signed_in
def today() -> ResponseReturnValue:
    """Today's bookings of this partner."""
    day = berlin_date(now())
    records, more = list_bookings(db_session(), by=current_counter(), limit=500, from_=day, to=day)
    uncovered = partner_offline_bookings(
        db_session(), by=current_counter(), limit=50, outcome="not_covered"
    ).rows
    return render_template(
        "bookings.html",
        records=records,
        more=more,
        day=day,
        uncovered=uncovered,
        offline_reasons=OFFLINE_REASONS,
    )


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
    data = statement(db_session(), by=current_counter(), first=first)
    previous = budget.add_months(first, -1).strftime("%Y-%m")
    following = budget.add_months(first, 1).strftime("%Y-%m")
    notes = credit_notes(db_session(), partner_id=current_counter().partner_id)
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
        return credit_note_download(db_session(), current_counter().partner_id, payment_id)
    except DomainError:
        abort(404)


@bp.get("/statement.csv")
@signed_in
def statement_csv() -> ResponseReturnValue:
    """The month's bookings and cancellations, a line each (semicolon CSV, as German
    spreadsheets expect)."""
    first = _month()
    body = month_csv(db_session(), partner_id=current_counter().partner_id, month=first)
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="youcard-{first.strftime("%Y-%m")}.csv"'
    )
    return response
