"""Staff sign-in (Flask-Login, argon2id, lockout, rate limit) and role checks for every page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, logout_user

from youcard.domain.enums import Role
from youcard.domain.models import StaffUser
from youcard.errors import NotFound
from youcard.operations.staff import end_sessions, sign_in
from youcard.policy import Staff, staff_actor
from youcard.tenancy import Row, owned
from youcard.web import db_session, now
from youcard.web.signin import session_is_current, sign_in_page, staff_login_manager

bp = Blueprint("auth", __name__)
login_manager = staff_login_manager("auth.login")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class StaffPrincipal(UserMixin):  # type: ignore[misc]
    """The signed-in staff member, as the pages need them."""

    id: int
    username: str
    display_name: str
    role: Role
    issuer_id: str
    must_change_password: bool = False


def _principal_of(user: StaffUser) -> StaffPrincipal:
    return StaffPrincipal(
        user.id,
        user.username,
        user.display_name,
        user.role,
        user.issuer_id,
        user.must_change_password,
    )


@login_manager.user_loader
def _load(user_id: str) -> StaffPrincipal | None:
    if not user_id.isdigit():
        return None
    user = db_session().get(StaffUser, int(user_id))
    if user is None or not user.active or not session_is_current(user.session_generation):
        return None  # deactivated, signed out elsewhere or with a new password: session over
    return _principal_of(user)


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


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in form."""
    return sign_in_page(
        lambda store, username, password, address: sign_in(
            store, username=username, password=password, address=address, now=now()
        ),
        _principal_of,
        lambda: url_for("pages.dashboard"),
    )


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """Sign out (a POST with the CSRF token, never a link): ends the session on the server."""
    if current_user.is_authenticated:
        user = db_session().get(StaffUser, current_user.id)
        if user is not None:
            end_sessions(user)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


def mine(model: type[Row], object_id: int) -> Row:
    """A row of the signed-in staff member's issuer, else 404 (youcard.tenancy decides)."""
    try:
        return owned(db_session(), principal(), model, object_id, "row")
    except NotFound:
        abort(404)


def principal() -> Staff:
    """The signed-in staff member as the operations' principal (role, issuer, audit name)."""
    return Staff(
        current_user.issuer_id,
        current_user.role,
        staff_actor(current_user.id),
        True,
        current_user.id,
    )
