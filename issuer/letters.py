"""Approval letters (PDF, A4, DIN 5008): one family's, or the day's batch in one PDF."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from issuer.auth import mine, principal, require_roles
from issuer.letter_texts import letter_of
from issuer.refusals import refused
from youcard.clock import berlin_date
from youcard.documents.letters import letters_pdf
from youcard.domain.models import Household
from youcard.errors import DomainError, NotFound
from youcard.operations.letters import (
    count_approved_on,
    households_approved_on,
    make_approval_letters,
)
from youcard.policy import RECORDERS
from youcard.reads.imports import batch_households
from youcard.web import db_session, now

bp = Blueprint("letters", __name__)
# Letters per PDF of the day's batch: a letter takes 30-150 ms to set (bench/letters.py;
# Arabic, shaped, the most), so a part stays well inside a request's time (gunicorn's 30 s);
# a larger day comes in parts, in the same order.
PART = 100


def _pdf(
    household_ids: list[int], *, new_codes: bool, name: str, just_made: str | None = None
) -> Response:
    moment = now()
    made = make_approval_letters(
        db_session(),
        by=principal(),
        household_ids=household_ids,
        new_codes=new_codes,
        now=moment,
        codes_just_made={household_ids[0]: just_made} if just_made else None,
    )
    today = berlin_date(moment)
    pdf = letters_pdf([letter_of(facts, code, today) for facts, code in made])
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/households/<int:household_id>/letter.pdf")
@require_roles(*RECORDERS)
def household_letter(household_id: int) -> ResponseReturnValue:
    """The family's approval letter; with a new access code when it has none or when asked,
    or with the code the access-code page has just shown (`code`, checked to be the current
    one: printing it must not cancel it)."""
    household = mine(Household, household_id)
    try:
        return _pdf(
            [household.id],
            new_codes=request.form.get("new_code") == "1",
            name=f"bewilligung-{household.reference}.pdf".replace(" ", "_"),
            just_made=(request.form.get("code") or "")[:40] or None,
        )
    except DomainError as error:
        refused(error)
        return redirect(url_for("households.show", household_id=household.id), 303)


@bp.get("/letters")
@require_roles(*RECORDERS)
def today() -> ResponseReturnValue:
    """The families with a benefit approved today, PART at a time by reference, each page's
    letters as one PDF (the page stays the same size however many were approved)."""
    day, by = berlin_date(now()), principal()
    after = request.args.get("after") or None
    if after is not None and len(after) > 60:
        abort(422)
    total = count_approved_on(db_session(), by=by, day=day)
    households = households_approved_on(db_session(), by=by, day=day, limit=PART + 1, after=after)
    more = len(households) > PART
    households = households[:PART]
    return render_template(
        "letters/today.html",
        households=households,
        total=total,
        after=after,
        next_after=households[-1].reference if more and households else None,
    )


@bp.post("/letters/today.pdf")
@require_roles(*RECORDERS)
def today_pdf() -> ResponseReturnValue:
    """The letters of the families of one page of today's approvals (references after
    `after`, up to `through`), one PDF."""
    day = berlin_date(now())
    after = request.form.get("after") or None
    through = request.form.get("through") or ""
    if (after is not None and len(after) > 60) or not 0 < len(through) <= 60:
        abort(422)
    chosen = households_approved_on(
        db_session(), by=principal(), day=day, limit=PART, after=after, through=through
    )
    if not chosen:
        abort(404)
    return _pdf(
        [h.id for h in chosen],
        new_codes=request.form.get("new_codes") == "1",
        name=f"bewilligungen-{day.isoformat()}-{chosen[0].reference}.pdf".replace(" ", "_"),
    )


@bp.post("/imports/<int:batch_id>/letters.pdf")
@require_roles(*RECORDERS)
def import_letters(batch_id: int) -> ResponseReturnValue:
    """The approval letters of a confirmed import's families, PART to a PDF."""
    part = request.form.get("part", "0")
    if not part.isdigit() or len(part) > 4:
        abort(422)
    try:
        households = batch_households(db_session(), by=principal(), batch_id=batch_id)
    except NotFound:
        abort(404)
    chosen = households[int(part) * PART : (int(part) + 1) * PART]
    if not chosen:
        abort(404)
    return _pdf(
        chosen,
        new_codes=request.form.get("new_codes") == "1",
        name=f"bewilligungen-import-{batch_id}-{int(part) + 1}.pdf",
    )
