"""Administration: partners (categories, IBAN, staff, device tokens) and signing keys."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from issuer.auth import mine, principal, require_roles
from issuer.kek import kek
from issuer.refusals import refused
from youcard.credentials import keys, trust
from youcard.domain.enums import Category, PartnerStatus
from youcard.domain.models import Partner
from youcard.errors import DomainError, NotFound
from youcard.operations import partners as partner_ops
from youcard.policy import ADMINISTRATORS
from youcard.reads.partners import (
    accepted_categories,
    own_partners,
    partner_view,
    partners_to_accept,
)
from youcard.tenancy import partner_to_accept
from youcard.web import db_session, now
from youcard.web.names import CATEGORY_NAMES

bp = Blueprint("admin", __name__, url_prefix="/admin")


class PartnerForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    iban = StringField(_l("IBAN"), validators=[DataRequired(), Length(max=42)])
    categories = SelectMultipleField(
        _l("May book"),
        choices=[SelectChoice(c.value, CATEGORY_NAMES[c]) for c in Category],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validators=[DataRequired()],
    )


class PartnerUserForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=12, max=200)])


def _partner(partner_id: int) -> Partner:
    return mine(Partner, partner_id)


@bp.get("/partners")
@require_roles(*ADMINISTRATORS)
def partners() -> ResponseReturnValue:
    """This issuer's partners, and other issuers' partners it may accept for its cards."""
    by = principal()
    rows = own_partners(db_session(), by=by)
    others = partners_to_accept(db_session(), by=by)
    return render_template("admin/partners.html", partners=rows, others=others)


class PermissionsForm(FlaskForm):  # type: ignore[misc]
    categories = SelectMultipleField(
        _l("May book on our cards"),
        choices=[SelectChoice(c.value, CATEGORY_NAMES[c]) for c in Category],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )


@bp.route("/partners/<int:partner_id>/permissions", methods=["GET", "POST"])
@require_roles(*ADMINISTRATORS)
def permissions(partner_id: int) -> ResponseReturnValue:
    """What a partner (ours or another issuer's) may book on this issuer's cards."""
    try:
        row = partner_to_accept(db_session(), principal(), partner_id)
    except NotFound:
        abort(404)
    ours = accepted_categories(row, by=principal())
    form = PermissionsForm(data={"categories": ours})
    if form.validate_on_submit():
        partner_ops.set_partner_permissions(
            db_session(),
            partner_id=row.id,
            by=principal(),
            categories={Category(c) for c in form.categories.data},
            now=now(),
        )
        flash(_("Saved."), "info")
        return redirect(url_for("admin.partners")), 303
    return render_template("admin/permissions.html", partner=row, form=form)


@bp.route("/partners/new", methods=["GET", "POST"])
@require_roles(*ADMINISTRATORS)
def new_partner() -> ResponseReturnValue:
    """Register a partner (pending until approved)."""
    form = PartnerForm()
    if form.validate_on_submit():
        try:
            partner = partner_ops.create_partner(
                db_session(),
                by=principal(),
                name=form.name.data,
                iban=form.iban.data,
                permissions={current_user.issuer_id: {Category(c) for c in form.categories.data}},
                now=now(),
            )
        except DomainError as error:  # answered 422: the unit of work rolls back
            form.iban.errors.append(
                _("This IBAN is not valid.") if error.code == "invalid_iban" else error.message
            )
        else:
            flash(_("Partner registered; approve it to let it book."), "info")
            return redirect(url_for("admin.partner", partner_id=partner.id))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/partner_new.html", form=form), status


@bp.get("/partners/<int:partner_id>")
@require_roles(*ADMINISTRATORS)
def partner(partner_id: int) -> ResponseReturnValue:
    """A partner with its categories, staff accounts and device tokens."""
    return _partner_page(partner_id, new_token=None)


def _partner_page(partner_id: int, *, new_token: str | None) -> ResponseReturnValue:
    try:
        seen = partner_view(db_session(), by=principal(), partner_id=partner_id)
    except DomainError:
        abort(404)  # another issuer's partner is not found
    return render_template(
        "admin/partner.html",
        partner=seen.partner,
        devices=seen.devices,
        users=seen.users,
        user_form=PartnerUserForm(),
        new_token=new_token,
        pending_by=seen.pending_iban_by,
    )


@bp.post("/partners/<int:partner_id>/<any(active, suspended):status>")
@require_roles(*ADMINISTRATORS)
def partner_status(partner_id: int, status: str) -> ResponseReturnValue:
    """Approve or suspend a partner."""
    partner_ops.set_partner_status(
        db_session(),
        partner_id=_partner(partner_id).id,
        by=principal(),
        status=PartnerStatus(status),
        now=now(),
    )
    flash(_("Partner approved.") if status == "active" else _("Partner suspended."), "info")
    return redirect(url_for("admin.partner", partner_id=partner_id)), 303


@bp.post("/partners/<int:partner_id>/tokens")
@require_roles(*ADMINISTRATORS)
def new_token(partner_id: int) -> ResponseReturnValue:
    """Create a device token; it is shown this once and stored only as a hash."""
    row = _partner(partner_id)
    name = (request.form.get("name") or "").strip()
    try:
        made = partner_ops.create_device_token(
            db_session(), by=principal(), partner_id=row.id, name=name, now=now()
        )
    except DomainError as error:
        refused(error)
        return redirect(url_for("admin.partner", partner_id=row.id)), 303
    return _partner_page(row.id, new_token=made.token)


@bp.post("/devices/<int:device_id>/revoke")
@require_roles(*ADMINISTRATORS)
def revoke_token(device_id: int) -> ResponseReturnValue:
    """Revoke a device token: it stops working at once."""
    try:
        device = partner_ops.revoke_device_token(
            db_session(),
            device_id=device_id,
            by=principal(),
            now=now(),
        )
    except DomainError:
        abort(404)
    flash(_("Device token revoked."), "info")
    return redirect(url_for("admin.partner", partner_id=device.partner_id)), 303


@bp.post("/partners/<int:partner_id>/users")
@require_roles(*ADMINISTRATORS)
def new_partner_user(partner_id: int) -> ResponseReturnValue:
    """A sign-in for the partner's staff at the scanner page."""
    row = _partner(partner_id)
    form = PartnerUserForm()
    if not form.validate_on_submit():
        flash(_("Username, name and a password of at least 12 characters are needed."), "error")
        return redirect(url_for("admin.partner", partner_id=row.id)), 303
    try:
        partner_ops.create_partner_user(
            db_session(),
            by=principal(),
            partner_id=row.id,
            username=form.username.data,
            display_name=form.display_name.data,
            password=form.password.data,
            now=now(),
        )
    except DomainError as error:
        refused(error)
        return redirect(url_for("admin.partner", partner_id=row.id)), 303
    flash(_("Staff account created."), "info")
    return redirect(url_for("admin.partner", partner_id=row.id)), 303


@bp.get("/keys")
@require_roles(*ADMINISTRATORS)
def key_list() -> ResponseReturnValue:
    """The issuer's signing keys."""
    infos = trust.issuer_keys(db_session(), by=principal())
    return render_template("admin/keys.html", keys=infos)


@bp.post("/keys/rotate")
@require_roles(*ADMINISTRATORS)
def rotate() -> ResponseReturnValue:
    """A new active key; the old one keeps verifying the cards it signed."""
    keys.rotate_key(db_session(), by=principal(), kek=kek(), now=now())
    flash(_("New signing key made; the old one still verifies its cards."), "info")
    return redirect(url_for("admin.key_list")), 303
