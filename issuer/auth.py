"""Staff sign-in (Flask-Login, argon2id, lockout, rate limit) and role checks for every page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from youcard.enums import Role
from youcard.models import StaffUser
from youcard.operations.staff import AccountLocked, LoginFailed, sign_in
from youcard.web import db_session, now

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class StaffPrincipal(UserMixin):  # type: ignore[misc]
    """The signed-in staff member, as the pages need them."""

    id: int
    username: str
    display_name: str
    role: Role
    issuer_id: str


@login_manager.user_loader
def _load(user_id: str) -> StaffPrincipal | None:
    if not user_id.isdigit():
        return None
    user = db_session().get(StaffUser, int(user_id))
    if user is None or not user.active:
        return None
    return StaffPrincipal(user.id, user.username, user.display_name, user.role, user.issuer_id)


@login_manager.unauthorized_handler
def _unauthorized() -> ResponseReturnValue:
    flash(_("Please sign in."), "info")
    return redirect(url_for("auth.login", next=request.path))


def require_roles(*roles: Role) -> Callable[[F], F]:
    """The page needs a signed-in staff member with one of `roles` (403 otherwise)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


ALL_STAFF = (Role.CASEWORKER, Role.APPROVER, Role.ADMINISTRATOR)


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Username and password."""

    username = StringField("username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("pages.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in form."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        store = db_session()
        try:
            user = sign_in(
                store, username=form.username.data, password=form.password.data, now=now()
            )
        except (LoginFailed, AccountLocked) as error:
            store.commit()  # the failed attempt counts, although the answer is an error
            locked = isinstance(error, AccountLocked)
            flash(
                _("Too many failed attempts. Please wait 15 minutes and try again.")
                if locked
                else _("Username or password is wrong."),
                "error",
            )
            status = 429 if locked else 401
        else:
            store.commit()
            session.clear()  # no session fixation: a fresh session for the signed-in user
            login_user(
                StaffPrincipal(user.id, user.username, user.display_name, user.role, user.issuer_id)
            )
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """Sign out (a POST with the CSRF token, never a link)."""
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
