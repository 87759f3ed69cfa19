"""Offline at the counter, for the city (docs/offline.md): what a counter may book offline on
one card and day per category (administrators set it; 0: offline booking off), and the
offline-risk report per partner and month beside its bound, as a page and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import DecimalField
from wtforms.validators import InputRequired, NumberRange

from issuer.auth import principal, require_roles
from issuer.forms import what_is_wrong
from issuer.refusals import refused
from youcard.clock import DateOutOfRange, berlin_date, parse_month
from youcard.documents.spreadsheets import csv_text, euros
from youcard.domain.enums import Category
from youcard.errors import DomainError
from youcard.operations.offline import MAX_LIMIT_CENTS, set_offline_limit
from youcard.policy import ADMINISTRATORS, REPORT_READERS
from youcard.reads.offline import RiskLine, offline_limits, offline_risk
from youcard.web import db_session, now
from youcard.web.names import CATEGORY_NAMES

bp = Blueprint("offline", __name__, url_prefix="/admin/offline")


class OfflineLimitsForm(FlaskForm):  # type: ignore[misc]
    """One field per category: euros a card and day (0: off)."""


for _category in Category:
    setattr(
        OfflineLimitsForm,
        f"limit_{_category.value}",
        DecimalField(
            CATEGORY_NAMES[_category],
            places=2,
            validators=[InputRequired(), NumberRange(min=0, max=MAX_LIMIT_CENTS / 100)],
        ),
    )


def _month(text: str | None) -> date:
    if not text:
        return berlin_date(now()).replace(day=1)
    try:
        return parse_month(text)
    except DateOutOfRange:
        abort(404)


def _months() -> list[date]:
    """The last twelve months, this one first."""
    this = berlin_date(now()).replace(day=1)
    return [
        date(this.year - (this.month - 1 - n < 0), (this.month - 1 - n) % 12 + 1, 1)
        for n in range(12)
    ]


@bp.get("")
@require_roles(*REPORT_READERS)
def index() -> ResponseReturnValue:
    """The limits and the month's offline risk."""
    month = _month(request.args.get("month"))
    limits = offline_limits(db_session(), by=principal())
    form = OfflineLimitsForm(
        data={f"limit_{c.value}": limits[c] / 100 for c in Category}, formdata=None
    )
    return render_template(
        "admin/offline.html",
        form=form,
        limits=limits,
        lines=offline_risk(db_session(), by=principal(), month=month),
        month=month,
        months=_months(),
        category_names=CATEGORY_NAMES,
        categories=list(Category),
    )


@bp.post("/limits")
@require_roles(*ADMINISTRATORS)
def limits() -> ResponseReturnValue:
    """Set every category's limit (each change audited with the value before)."""
    form = OfflineLimitsForm()
    if not form.validate_on_submit():
        flash(_("Please check: %(problems)s", problems=what_is_wrong(form)), "error")
    else:
        try:
            for category in Category:
                euro_value = getattr(form, f"limit_{category.value}").data
                set_offline_limit(
                    db_session(),
                    by=principal(),
                    category=category,
                    cents=int(euro_value * 100),
                    now=now(),
                )
        except DomainError as error:
            refused(error)
        else:
            flash(_("Offline limits saved."), "info")
    return redirect(url_for("offline.index")), 303


HEADER = [
    "partner",
    "booked_offline",
    "booked_offline_eur",
    "not_covered",
    "not_covered_eur",
    "late",
    "cards",
    "days",
    "devices",
    "bound_eur",
]


def _row(line: RiskLine) -> list[object]:
    return [
        csv_text(line.partner_name),
        line.booked_count,
        euros(line.booked_cents),
        line.not_covered_count,
        euros(line.not_covered_cents),
        line.late_count,
        line.cards,
        line.days,
        line.devices,
        euros(line.bound_cents),
    ]


@bp.get("/<month_text>.csv")
@require_roles(*REPORT_READERS)
def csv_file(month_text: str) -> ResponseReturnValue:
    """The month's offline risk as CSV (semicolons, German decimal commas)."""
    month = _month(month_text)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADER)
    for line in offline_risk(db_session(), by=principal(), month=month):
        writer.writerow(_row(line))
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="youcard-offline-{month:%Y-%m}.csv"'
    )
    return response
