"""`/partners/apply`: a club, a music school, a tutor or a caterer applies to take the
city's cards, without an account (none exists before an administrator approves). CSRF on
the form, a limit of applications per address, a field people never see (a robot filling
it in is thanked and forgotten), every field limited in length and checked by the rules
the office's pages use (youcard.operations.partner_applications)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Optional

from issuer.refusals import REFUSALS
from youcard.domain.enums import Category
from youcard.domain.models import Issuer
from youcard.errors import DomainError
from youcard.operations import partner_applications as applications
from youcard.web import db_session, now, undo_writes
from youcard.web.names import CATEGORY_NAMES

bp = Blueprint("apply", __name__)

LEGAL_FORM_NAMES = {
    "ev": _l("Registered association (e. V.)"),
    "ggmbh": _l("Non-profit company (gGmbH)"),
    "gmbh": _l("Company (GmbH, UG)"),
    "gbr": _l("Partnership (GbR)"),
    "sole": _l("Sole trader"),
    "freelance": _l("Freelancer"),
    "public": _l("Public body (school, library, youth centre)"),
    "church": _l("Church or religious community"),
    "other": _l("Other"),
}
FIELD_LIMITS = {  # the longest value each field takes (the operation checks them again)
    "name": 200,
    "street": 200,
    "postal_code": 5,
    "city": 100,
    "district": 100,
    "contact_person": 200,
    "email": 254,
    "phone": 40,
    "opening_hours": 500,
    "accessibility": 300,
    "iban": 42,
    "account_holder": 200,
}


class ApplicationForm(FlaskForm):  # type: ignore[misc]
    issuer = SelectField(_l("City"), validators=[DataRequired()])
    name = StringField(_l("Name of your organisation"), validators=[DataRequired()])
    legal_form = SelectField(
        _l("Legal form"),
        choices=[SelectChoice("", "–")] + [SelectChoice(k, v) for k, v in LEGAL_FORM_NAMES.items()],
        default="",
    )
    street = StringField(_l("Street and number"), validators=[DataRequired()])
    postal_code = StringField(_l("Postal code"), validators=[DataRequired()])
    city = StringField(_l("Place"), validators=[DataRequired()])
    district = StringField(_l("District (optional)"), validators=[Optional()])
    contact_person = StringField(_l("Contact person"), validators=[DataRequired()])
    email = StringField(_l("E-mail"), validators=[DataRequired(), Email()])
    phone = StringField(_l("Phone (optional)"), validators=[Optional()])
    opening_hours = TextAreaField(_l("Opening hours (optional)"), validators=[Optional()])
    accessibility = TextAreaField(
        _l("Accessibility (optional), e.g. step-free access, accessible toilet"),
        validators=[Optional()],
    )
    iban = StringField(_l("IBAN"), validators=[DataRequired()])
    account_holder = StringField(_l("Account holder"), validators=[DataRequired()])
    terms_version = HiddenField()
    terms_accepted = BooleanField(_l("I have read the terms and accept them."))
    # Never shown to people (hidden, out of the tab order): only a robot fills it in.
    website = StringField(_l("Leave this field empty"), validators=[Optional()])


def _offer_fields() -> list[tuple[Category, str, str, str]]:
    return [(c, f"category_{c.value}", f"offer_{c.value}", f"price_{c.value}") for c in Category]


def _cities() -> list[SelectChoice]:
    return [
        SelectChoice(issuer_id, name)
        for issuer_id, name in db_session().execute(
            select(Issuer.id, Issuer.name).order_by(Issuer.name)
        )
    ]


def _page(form: ApplicationForm, status: int, **extra: object) -> ResponseReturnValue:
    issuer_id = form.issuer.data or (form.issuer.choices[0].value if form.issuer.choices else None)
    terms = applications.current_terms(db_session(), issuer_id) if issuer_id else None
    if terms is not None and not form.terms_version.data:
        form.terms_version.data = str(terms.version)
    return (
        render_template(
            "apply/form.html",
            form=form,
            terms=terms,
            offers=_offer_fields(),
            category_names=CATEGORY_NAMES,
            limits=FIELD_LIMITS,
            values=request.form,
            **extra,
        ),
        status,
    )


@bp.route("/partners/apply", methods=["GET", "POST"])
def apply() -> ResponseReturnValue:
    """The application form (GET); POST keeps the application for the city's
    administrators and says what happens next, or what to correct."""
    form = ApplicationForm()
    form.issuer.choices = _cities()
    if request.method == "GET" and request.args.get("city") in {
        c.value for c in form.issuer.choices
    }:
        form.issuer.data = request.args["city"]
    if request.method != "POST":
        return _page(form, 200)
    if not form.validate_on_submit():
        return _page(form, 422)
    if form.website.data:  # a robot: thanked, and nothing kept
        current_app.logger.info("an application with the hidden field filled in was dropped")
        return render_template("apply/thanks.html", email=None), 200
    offers = tuple(
        applications.Offer(
            category.value,
            request.form.get(offer, "")[:600],
            request.form.get(price, "")[:200],
        )
        for category, box, offer, price in _offer_fields()
        if request.form.get(box)
    )
    version = form.terms_version.data or ""
    asked = applications.Application(
        issuer_id=form.issuer.data,
        **{field: (form[field].data or "")[: limit + 100] for field, limit in FIELD_LIMITS.items()},
        legal_form=form.legal_form.data or "",
        offers=offers,
        terms_version=int(version) if version.isdigit() and len(version) < 10 else None,
        terms_accepted=bool(form.terms_accepted.data),
    )
    try:
        made = applications.submit_application(db_session(), application=asked, now=now())
    except DomainError as error:
        undo_writes()
        return _page(
            form,
            409 if error.code == "terms_changed" else 422,
            refusal=str(REFUSALS.get(error.code, error.message)),
            refused_field=error.details.get("field"),
        )
    return render_template("apply/thanks.html", email=made.email), 201
