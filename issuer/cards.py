"""Cards: issue, block or replace, download (QR, PDF) and the print queue."""

from __future__ import annotations

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

from issuer.auth import mine, principal, require_roles
from issuer.kek import kek
from issuer.refusals import refused
from youcard.documents import printing
from youcard.domain.models import Card, Child
from youcard.errors import DomainError
from youcard.operations import card_printing
from youcard.operations import cards as card_ops
from youcard.policy import ALL_STAFF, DECIDERS
from youcard.web import db_session, now

bp = Blueprint("cards", __name__)


@bp.post("/children/<int:child_id>/card")
@require_roles(*DECIDERS)
def issue(child_id: int) -> ResponseReturnValue:
    """Issue the child's card once an entitlement is approved."""
    child = mine(Child, child_id)
    try:
        card_ops.issue_card(
            db_session(),
            child_id=child.id,
            by=principal(),
            now=now(),
            kek=kek(),
        )
    except DomainError as error:
        refused(error)
    else:
        flash(_("Card issued."), "info")
    return redirect(url_for("households.show", household_id=child.household_id)), 303


@bp.post("/cards/<int:card_id>/<any(revoke, replace):action>")
@require_roles(*DECIDERS)
def block(card_id: int, action: str) -> ResponseReturnValue:
    """Block a card, or replace a lost one (a new serial; the budget carries over)."""
    card = mine(Card, card_id)
    reason = (request.form.get("reason") or "").strip()
    try:
        if action == "revoke":
            card_ops.revoke_card(
                db_session(),
                card_id=card.id,
                by=principal(),
                reason=reason,
                now=now(),
            )
        else:
            card_ops.replace_card(
                db_session(),
                card_id=card.id,
                by=principal(),
                reason=reason,
                now=now(),
                kek=kek(),
            )
    except DomainError as error:
        refused(error)
    else:
        flash(_("Card blocked.") if action == "revoke" else _("New card issued."), "info")
    child = mine(Child, card.child_id)
    return redirect(url_for("households.show", household_id=child.household_id)), 303


@bp.get("/cards/<int:card_id>.<any(png, svg, pdf):kind>")
@require_roles(*ALL_STAFF)
def download(card_id: int, kind: str) -> ResponseReturnValue:
    """The card's QR as PNG or SVG, or the printable card as PDF."""
    card = mine(Card, card_id)
    if card.credential is None:
        abort(404)
    if kind == "png":
        body, mimetype = printing.qr_png(card.credential), "image/png"
    elif kind == "svg":
        body, mimetype = printing.qr_svg(card.credential).encode(), "image/svg+xml"
    else:
        body = printing.card_pdf(card_printing.printed_card(db_session(), card))
        mimetype = "application/pdf"
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, no-store"
    if kind == "pdf":
        response.headers["Content-Disposition"] = f'attachment; filename="youcard-{card.id}.pdf"'
    return response


@bp.get("/cards/print")
@require_roles(*DECIDERS)
def print_queue() -> ResponseReturnValue:
    """Cards issued but not printed yet."""
    after = request.args.get("after", "")
    if after and (not after.isdigit() or len(after) > 18):
        abort(422)
    queue = card_printing.print_queue(
        db_session(),
        by=principal(),
        limit=card_printing.PRINT_PART,
        after=int(after) if after else None,
    )
    return render_template(
        "households/print.html", queue=queue, part=card_printing.PRINT_PART, after=after
    )


@bp.post("/cards/print.pdf")
@require_roles(*DECIDERS)
def print_pending() -> ResponseReturnValue:
    """All pending cards on A4 sheets (ten a page, backs mirrored for duplex), marked printed."""
    try:
        pdf, count = card_printing.print_sheet(db_session(), by=principal(), now=now())
    except DomainError as error:
        refused(error)
        return redirect(url_for("cards.print_queue")), 303
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="youcard-cards-{count}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
