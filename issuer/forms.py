"""The staff pages' forms for families, children and benefits."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from youcard.domain.contacts import Contact
from youcard.domain.enums import Category
from youcard.domain.languages import FAMILY_LANGUAGES, LANGUAGE_NAMES
from youcard.web.names import CATEGORY_NAMES


class HouseholdForm(FlaskForm):  # type: ignore[misc]
    reference = StringField(_l("Reference number"), validators=[DataRequired(), Length(max=60)])
    family_name = StringField(_l("Family name"), validators=[DataRequired(), Length(max=200)])
    street = StringField(_l("Street and number"), validators=[Optional(), Length(max=200)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    language = SelectField(
        _l("Language of letters and messages"),
        choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in FAMILY_LANGUAGES],
        default="de",
        validators=[DataRequired()],
    )

    def contact(self) -> Contact:
        """The contact the form holds (checked by the operation)."""
        return Contact(
            street=self.street.data,
            postal_code=self.postal_code.data,
            city=self.city.data,
            email=self.email.data,
            phone=self.phone.data,
            language=self.language.data,
        )


class ChildForm(FlaskForm):  # type: ignore[misc]
    given_name = StringField(_l("Given name"), validators=[DataRequired(), Length(max=200)])
    family_name = StringField(_l("Family name"), validators=[DataRequired(), Length(max=200)])
    birth_date = DateField(_l("Date of birth"), validators=[DataRequired()])


class EntitlementForm(FlaskForm):  # type: ignore[misc]
    category = SelectField(
        _l("Benefit"),
        choices=[SelectChoice(c.value, CATEGORY_NAMES[c]) for c in Category],
        validators=[DataRequired()],
    )
    valid_from = DateField(_l("Approved from"), validators=[DataRequired()])
    valid_until = DateField(_l("Approved until"), validators=[DataRequired()])
    amount_euros = DecimalField(
        _l("Approved amount in euros (trips only)"),
        places=2,
        validators=[Optional(), NumberRange(min=Decimal("0.01"), max=Decimal("100000"))],
    )


def what_is_wrong(form: FlaskForm) -> str:
    """Each field the form refused, by its label, with WTForms' (translated) reason: "Approved
    amount in euros (trips only): Number must be between 0.01 and 100000." A CSRF failure
    is none of the fields: it says the form is out of date."""
    parts = []
    for field in form:
        if field.errors and field.name != "csrf_token":
            parts.append(f"{field.label.text}: {' '.join(str(e) for e in field.errors)}")
    if not parts:
        return str(_l("The form is out of date. Please reload the page and try again."))
    return "; ".join(parts)


class ReasonForm(FlaskForm):  # type: ignore[misc]
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
