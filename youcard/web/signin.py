"""The sign-in page both services share: staff at the issuer, partner staff at the scanner.

Failed attempts count (and lock the account) even though the answer is an error; a
successful sign-in starts a fresh session (no fixation) that keeps the chosen language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import UserMixin, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from youcard.db import Session
from youcard.operations.staff import AccountLocked, LoginFailed
from youcard.web import db_session

U = TypeVar("U")


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Username and password."""

    username = StringField("username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def sign_in_page(
    authenticate: Callable[[Session, str, str], U],
    principal: Callable[[U], UserMixin],
    default_next: Callable[[], str],
    **template: Any,
) -> ResponseReturnValue:
    """GET: the form; POST: check it with `authenticate(session, username, password)`
    (which raises LoginFailed or AccountLocked) and sign `principal(user)` in."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        store = db_session()
        try:
            user = authenticate(store, form.username.data, form.password.data)
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
            lang = session.get("lang")
            session.clear()  # no session fixation: a fresh session for the signed-in user
            if lang:
                session["lang"] = lang
            login_user(principal(user))
            return redirect(safe_next(request.args.get("next"), default_next()))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form, **template), status
