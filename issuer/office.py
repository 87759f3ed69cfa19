"""The city's office as families see it: name, address, phone, e-mail, opening hours and
the family area's web address (on cards, letters and the "card lost" page)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from issuer.auth import principal, require_roles
from issuer.refusals import REFUSALS
from youcard.domain.contacts import OfficeDetails
from youcard.domain.models import Issuer
from youcard.errors import DomainError
from youcard.operations.contacts import set_office_details
from youcard.policy import ADMINISTRATORS
from youcard.web import db_session, now

bp = Blueprint("office", __name__, url_prefix="/admin")


class OfficeForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("Office"), validators=[Optional(), Length(max=200)])
    street = StringField(_l("Street and number"), validators=[Optional(), Length(max=200)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    hours = StringField(_l("Opening hours"), validators=[Optional(), Length(max=300)])
    family_url = StringField(
        _l("Web address of the family area"), validators=[Optional(), Length(max=300)]
    )


@bp.route("/office", methods=["GET", "POST"])
@require_roles(*ADMINISTRATORS)
def settings() -> ResponseReturnValue:
    """The office's details (administrators)."""
    issuer = db_session().get(Issuer, current_user.issuer_id)
    assert issuer is not None
    form = OfficeForm(data=vars(OfficeDetails.of(issuer)))
    status = 200
    if form.validate_on_submit():
        details = OfficeDetails(**{f: form[f].data for f in vars(OfficeDetails())})
        try:
            set_office_details(db_session(), by=principal(), details=details, now=now())
        except DomainError as error:  # answered 422: the unit of work rolls back
            field = form[str(error.details.get("field", "name"))]
            field.errors.append(REFUSALS.get(error.code, error.message))
            status = 422
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("office.settings")), 303
    elif request.method == "POST":
        status = 422
    return render_template("admin/office.html", form=form), status
