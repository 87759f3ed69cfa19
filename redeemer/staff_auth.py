"""Partner staff on the scanner page: who is signed in, and the counter they book at."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import (
    flash,
    g,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import UserMixin, current_user

from youcard.domain.models import PartnerUser
from youcard.policy import Counter
from youcard.reads.counter import staff_counter
from youcard.web import db_session
from youcard.web.signin import session_is_current, staff_login_manager

login_manager = staff_login_manager("scanner.login")

F = TypeVar("F", bound=Callable[..., Any])


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
    if wants_json():
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


def current_counter() -> Counter:
    """The signed-in staff member's counter (who books), read by the user loader."""
    counter: Counter = g.counter
    return counter


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"
