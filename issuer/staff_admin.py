"""Administration of the issuer's staff accounts: create (one-time password), change role,
deactivate or activate, unlock, reset. The operations decide; these pages show."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from issuer.auth import principal, require_roles
from issuer.refusals import refused
from youcard.domain.enums import Role
from youcard.domain.models import StaffUser
from youcard.errors import DomainError
from youcard.operations import staff_accounts as accounts
from youcard.policy import ADMINISTRATORS
from youcard.web import db_session, now

bp = Blueprint("staff", __name__, url_prefix="/admin/staff")

ROLE_CHOICES = [
    SelectChoice(Role.CASEWORKER.value, _l("caseworker")),
    SelectChoice(Role.APPROVER.value, _l("approver")),
    SelectChoice(Role.ADMINISTRATOR.value, _l("administrator")),
]


class StaffForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])


class RoleForm(FlaskForm):  # type: ignore[misc]
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])


def _one_time_password_page(user: StaffUser, secret: str, *, new: bool) -> ResponseReturnValue:
    """The one-time password, shown this once (never stored, never in a link)."""
    return render_template("admin/staff_password.html", user=user, secret=secret, new=new)


@bp.route("", methods=["GET", "POST"])
@require_roles(*ADMINISTRATORS)
def index() -> ResponseReturnValue:
    """The staff accounts and a form for a new one."""
    form = StaffForm()
    status = 200
    if form.validate_on_submit():
        try:
            made = accounts.create_staff_user(
                db_session(),
                by=principal(),
                username=form.username.data,
                display_name=form.display_name.data,
                role=Role(form.role.data),
                now=now(),
            )
        except DomainError as error:
            refused(error)
            status = 422
        else:
            assert made.one_time_password is not None
            return _one_time_password_page(made.user, made.one_time_password, new=True)
    elif form.is_submitted():
        status = 422
    entries = accounts.list_staff(db_session(), by=principal(), now=now())
    return render_template("admin/staff.html", entries=entries, form=form), status


@bp.get("/<int:user_id>")
@require_roles(*ADMINISTRATORS)
def member(user_id: int) -> ResponseReturnValue:
    """One staff account: role, state and what an administrator can do with it."""
    try:
        entry = accounts.staff_entry(db_session(), by=principal(), user_id=user_id, now=now())
    except DomainError:
        abort(404)
    form = RoleForm(role=entry.user.role.value)
    return render_template("admin/staff_member.html", entry=entry, form=form)


def _done(user_id: int, message: str) -> ResponseReturnValue:
    flash(message, "info")
    return redirect(url_for("staff.member", user_id=user_id)), 303


def _back(user_id: int, error: DomainError) -> ResponseReturnValue:
    if error.code == "staff_not_found":
        abort(404)
    refused(error)
    return redirect(url_for("staff.member", user_id=user_id)), 303


@bp.post("/<int:user_id>/role")
@require_roles(*ADMINISTRATORS)
def change_role(user_id: int) -> ResponseReturnValue:
    """Give the staff member another role."""
    form = RoleForm()
    if not form.validate_on_submit():
        abort(422)
    try:
        accounts.set_staff_role(
            db_session(), by=principal(), user_id=user_id, role=Role(form.role.data), now=now()
        )
    except DomainError as error:
        return _back(user_id, error)
    return _done(user_id, _("The role is changed."))


@bp.post("/<int:user_id>/<any(deactivate, activate):change>")
@require_roles(*ADMINISTRATORS)
def set_active(user_id: int, change: str) -> ResponseReturnValue:
    """Deactivate (sessions and API tokens end at once) or activate again."""
    try:
        accounts.set_staff_active(
            db_session(), by=principal(), user_id=user_id, active=change == "activate", now=now()
        )
    except DomainError as error:
        return _back(user_id, error)
    if change == "activate":
        return _done(user_id, _("The account is active again."))
    return _done(user_id, _("The account is deactivated; its sessions have ended."))


@bp.post("/<int:user_id>/unlock")
@require_roles(*ADMINISTRATORS)
def unlock(user_id: int) -> ResponseReturnValue:
    """Lift the waits after failed sign-ins."""
    try:
        accounts.unlock_staff_user(db_session(), by=principal(), user_id=user_id, now=now())
    except DomainError as error:
        return _back(user_id, error)
    return _done(user_id, _("The account may sign in again at once."))


@bp.post("/<int:user_id>/reset")
@require_roles(*ADMINISTRATORS)
def reset(user_id: int) -> ResponseReturnValue:
    """A new one-time password (shown once); the staff member's sessions end."""
    try:
        made = accounts.reset_staff_password(
            db_session(), by=principal(), user_id=user_id, now=now()
        )
    except DomainError as error:
        return _back(user_id, error)
    assert made.one_time_password is not None
    return _one_time_password_page(made.user, made.one_time_password, new=False)
