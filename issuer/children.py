"""One child, as a caseworker needs it on the phone with the family: balances, every booking
and cancellation, the cards and their history; and a new card for one a family blocked."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from issuer.auth import mine, principal, require_roles
from issuer.kek import kek
from issuer.refusals import refused
from youcard.clock import berlin_date
from youcard.domain.models import Card, Child
from youcard.errors import DomainError
from youcard.operations import cards as card_ops
from youcard.operations import mandates as mandates_ops
from youcard.policy import ALL_STAFF, REPLACERS
from youcard.privacy.access_log import record_view
from youcard.reads.child import child_view
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
    record_view(
        db_session(), by=principal(), object_type="child", object_id=child_id, via="page", now=now()
    )
    mandates = mandates_ops.child_mandates(db_session(), by=principal(), child_id=child_id)
    partners = mandates_ops.partner_names(db_session(), mandates)
    return render_template("children/show.html", view=view, mandates=mandates, partners=partners)


@bp.post("/children/<int:child_id>/mandates/<int:mandate_id>/end")
@require_roles(*REPLACERS)
def end_mandate(child_id: int, mandate_id: int) -> ResponseReturnValue:
    """End a partner's standing authorization for the child (staff of the child's city)."""
    child = mine(Child, child_id)
    try:
        mandate = mandates_ops.end_mandate(
            db_session(), by=principal(), mandate_id=mandate_id, now=now()
        )
    except DomainError as error:
        refused(error)
        return redirect(url_for("children.show", child_id=child.id)), 303
    if mandate.child_id != child.id:
        abort(404)  # an error answer: nothing of it stays
    flash(_("The standing authorization is ended."), "info")
    return redirect(url_for("children.show", child_id=child.id)), 303


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
        flash(_("A new card is issued; it waits in the print queue."), "info")
    return redirect(url_for("children.show", child_id=card.child_id)), 303
