"""The sign-in page both services share: staff at the issuer, partner staff at the scanner.

Failed attempts count (and slow that username from that address) even though the answer is
an error; a successful sign-in starts a fresh session (no fixation) that keeps the chosen
language and carries the user's session generation (`SESSION_GENERATION`): bumping it in
the database ends the session on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, flash, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_login import LoginManager, UserMixin, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from youcard.db import Session
from youcard.operations.staff import AccountLocked, LoginFailed
from youcard.web import db_session, keep_writes

SESSION_GENERATION = "generation"


class _SignsIn(Protocol):
    id: int
    session_generation: int


U = TypeVar("U", bound=_SignsIn)


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Username and password."""

    username = StringField("username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


def staff_login_manager(login_view: str) -> LoginManager:
    """Flask-Login for staff pages, in "basic" session protection.

    A signed-in session is permanent, and for those Flask-Login's "strong" acts as "basic"
    anyway (a session from another browser is only marked not fresh; sessions end on the
    server, by their generation). What "strong" did besides was to empty every anonymous
    session (the chosen language, a form's CSRF token) of the login keys and mark it changed
    on every request, so every answer, a favicon's 404 too, sent the cookie again, and a slow
    answer to an earlier request put the earlier cookie back: a visitor who had switched to
    German got English again (seen in CI). "basic" marks such a session once and then leaves
    it alone."""
    manager = LoginManager()
    manager.login_view = login_view
    manager.session_protection = "basic"
    return manager


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site (no open redirect): no control characters or whitespace (a
    browser drops tabs and line breaks, so `/\t/evil` would become `//evil`), no backslash,
    and neither scheme nor host once parsed."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ch.isspace() or not ch.isprintable() for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    return target


def limit_sign_in(app: Flask, limiter: Limiter, endpoint: str, limit: str) -> None:
    """Slow down guessing from one address: at most `limit` sign-in POSTs per address at the
    view `endpoint` (the operations throttle per username and address on top)."""
    view = app.view_functions[endpoint]
    app.view_functions[endpoint] = cast(Any, limiter.limit(limit, methods=["POST"])(view))


def session_is_current(generation: int) -> bool:
    """Whether this session began in the user's current session generation."""
    return session.get(SESSION_GENERATION) == generation


def sign_in_page(
    authenticate: Callable[[Session, str, str, str], U],
    principal: Callable[[U], UserMixin],
    default_next: Callable[[], str],
    **template: Any,
) -> ResponseReturnValue:
    """GET: the form; POST: check it with `authenticate(session, username, password, address)`
    (which raises LoginFailed or AccountLocked) and sign `principal(user)` in."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        store = db_session()
        try:
            user = authenticate(
                store, form.username.data, form.password.data, request.remote_addr or "unknown"
            )
        except (LoginFailed, AccountLocked) as error:
            keep_writes()  # the failed attempt counts, although the answer is an error
            locked = isinstance(error, AccountLocked)
            flash(
                _("Too many failed attempts. Please wait a few minutes and try again.")
                if locked
                else _("Username or password is wrong."),
                "error",
            )
            status = 429 if locked else 401
            if locked:
                response = render_template("login.html", form=form, **template)
                return response, status, {"Retry-After": str(error.details["retry_after"])}
        else:
            lang = session.get("lang")
            session.clear()  # no session fixation: a fresh session for the signed-in user
            if lang:
                session["lang"] = lang
            session[SESSION_GENERATION] = user.session_generation
            session.permanent = True  # ends after PERMANENT_SESSION_LIFETIME without a request
            login_user(principal(user))
            return redirect(safe_next(request.args.get("next"), default_next()))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form, **template), status
