"""A partner's name and bank details (a new IBAN waits for a second administrator) and its
staff's scanner logins (deactivate, activate, new password)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from issuer.auth import principal, require_roles
from issuer.refusals import refused
from youcard.errors import DomainError
from youcard.operations import partner_details as details
from youcard.policy import ADMINISTRATORS
from youcard.web import db_session, now

bp = Blueprint("partner_details", __name__, url_prefix="/admin")


def _back(partner_id: int) -> ResponseReturnValue:
    return redirect(url_for("admin.partner", partner_id=partner_id)), 303


def _run(partner_id: int, change: str, done: str) -> ResponseReturnValue:
    by, moment, value = principal(), now(), (request.form.get("value") or "")
    try:
        if change == "name":
            details.rename_partner(
                db_session(), by=by, partner_id=partner_id, name=value, now=moment
            )
        elif change == "contact":
            details.set_partner_contact(
                db_session(), by=by, partner_id=partner_id, email=value, now=moment
            )
        elif change == "iban":
            details.request_iban_change(
                db_session(), by=by, partner_id=partner_id, iban=value, now=moment
            )
        elif change == "confirm":
            details.confirm_iban_change(db_session(), by=by, partner_id=partner_id, now=moment)
        else:
            details.discard_iban_change(db_session(), by=by, partner_id=partner_id, now=moment)
    except DomainError as error:
        if error.code == "partner_not_found":
            abort(404)
        refused(error)
        return _back(partner_id)
    flash(done, "info")
    return _back(partner_id)


@bp.post("/partners/<int:partner_id>/<any(name, contact, iban, confirm, discard):change>")
@require_roles(*ADMINISTRATORS)
def change(partner_id: int, change: str) -> ResponseReturnValue:
    """Rename; set the contact address; enter a new IBAN; confirm it (a second
    administrator) or discard it."""
    done = {
        "name": _("The name is changed."),
        "contact": _("The contact address is saved."),
        "iban": _("The new IBAN waits for a second administrator's confirmation."),
        "confirm": _("The new IBAN is confirmed; payments go there from now on."),
        "discard": _("The new IBAN is discarded."),
    }[change]
    return _run(partner_id, change, done)


@bp.post("/partner-users/<int:user_id>/<any(deactivate, activate, reset):change>")
@require_roles(*ADMINISTRATORS)
def partner_user(user_id: int, change: str) -> ResponseReturnValue:
    """Deactivate (sessions end at once) or activate a partner's staff login, or give it a
    new password (shown once)."""
    by, moment = principal(), now()
    try:
        if change == "reset":
            made = details.reset_partner_user_password(
                db_session(), by=by, user_id=user_id, now=moment
            )
            user = made.user
        else:
            user = details.set_partner_user_active(
                db_session(), by=by, user_id=user_id, active=change == "activate", now=moment
            )
    except DomainError:
        abort(404)
    if change == "reset":
        return render_template("admin/partner_user_password.html", user=user, secret=made.password)
    flash(
        _("The login is active again.") if change == "activate" else _("The login is deactivated."),
        "info",
    )
    return _back(user.partner_id)
