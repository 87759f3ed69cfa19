"""One child, as a caseworker needs it on the phone with the family: balances, every booking
and cancellation, the cards and their history; and a new card for one a family blocked."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from issuer.auth import mine, principal, require_roles
from issuer.kek import kek
from issuer.refusals import refused
from youcard.child_view import child_view
from youcard.clock import berlin_date
from youcard.errors import DomainError
from youcard.models import Card
from youcard.operations import cards as card_ops
from youcard.policy import ALL_STAFF, REPLACERS
from youcard.web import db_session, now

bp = Blueprint("children", __name__)


@bp.get("/children/<int:child_id>")
@require_roles(*ALL_STAFF)
def show(child_id: int) -> ResponseReturnValue:
    """The child's balances, bookings and cancellations, and cards with their history."""
    try:
        view = child_view(db_session(), by=principal(), child_id=child_id, today=berlin_date(now()))
    except DomainError:
        abort(404)
    return render_template("children/show.html", view=view)


@bp.post("/cards/<int:card_id>/reissue")
@require_roles(*REPLACERS)
def reissue(card_id: int) -> ResponseReturnValue:
    """A new card for one that was blocked (caseworkers too: it is not the first card)."""
    card = mine(Card, card_id)
    try:
        card_ops.replace_blocked_card(
            db_session(), by=principal(), card_id=card.id, now=now(), kek=kek()
        )
    except DomainError as error:
        refused(error)
    else:
        db_session().commit()
        flash(_("A new card is issued; it waits in the print queue."), "info")
    return redirect(url_for("children.show", child_id=card.child_id)), 303
