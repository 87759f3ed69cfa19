"""The signed-in staff member's own account: their API tokens (seen and ended here), and
changing the password, which a one-time password (a new account, a reset) requires before
any other page."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from issuer.auth import principal, require_roles
from issuer.refusals import refused
from youcard.errors import DomainError
from youcard.operations.staff_accounts import change_own_password
from youcard.operations.staff_tokens import own_tokens, revoke_staff_token
from youcard.operations.values import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from youcard.policy import ALL_STAFF
from youcard.web import db_session, now
from youcard.web.hotpath import is_api_request
from youcard.web.signin import SESSION_GENERATION

bp = Blueprint("account", __name__, url_prefix="/account")

# What a staff member with a one-time password may still reach.
OPEN_WITH_ONE_TIME_PASSWORD = frozenset({"account.password", "auth.logout", "auth.login", "static"})


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
    )
    repeat = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))],
    )


class RevokeForm(FlaskForm):  # type: ignore[misc]
    """A button that ends one token (CSRF only)."""


@bp.route("")
@require_roles(*ALL_STAFF)
def index() -> ResponseReturnValue:
    """One's own account: the password, and the API tokens that act as oneself."""
    return render_template(
        "account/index.html", tokens=own_tokens(db_session(), by=principal()), form=RevokeForm()
    )


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@require_roles(*ALL_STAFF)
def revoke_token(token_id: int) -> ResponseReturnValue:
    """End one of one's own API tokens at once."""
    form = RevokeForm()
    if not form.validate_on_submit():
        return redirect(url_for("account.index")), 303
    try:
        row = revoke_staff_token(db_session(), by=principal(), token_id=token_id, now=now())
    except DomainError as error:
        refused(error)
        return redirect(url_for("account.index")), 303
    flash(_("The token %(name)s no longer works.", name=row.name), "info")
    return redirect(url_for("account.index")), 303


@bp.route("/password", methods=["GET", "POST"])
@require_roles(*ALL_STAFF)
def password() -> ResponseReturnValue:
    """Change one's own password (required first after a one-time password)."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = change_own_password(
                db_session(),
                by=principal(),
                current_password=form.current.data,
                new_password=form.new.data,
                now=now(),
            )
        except DomainError as error:
            refused(error)
            status = 422
        else:
            generation = user.session_generation
            # Every other session of this user ended; this one goes on in the new generation.
            session[SESSION_GENERATION] = generation
            flash(_("Your password is changed."), "info")
            return redirect(url_for("pages.dashboard")), 303
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "account/password.html",
            form=form,
            must_change=current_user.must_change_password,
            min_length=MIN_PASSWORD_LENGTH,
        ),
        status,
    )


def init_account(app: Flask) -> None:
    """Until a one-time password is changed, every page leads to the password form."""

    @app.before_request
    def _require_own_password() -> ResponseReturnValue | None:
        if is_api_request() or request.endpoint in OPEN_WITH_ONE_TIME_PASSWORD:
            return None
        if current_user.is_authenticated and current_user.must_change_password:
            return redirect(url_for("account.password"))
        return None
