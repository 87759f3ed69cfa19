"""Reports for the city: uptake per category and partner, take-up rate, unused money;
charts drawn on the server (SVG) and every figure as CSV."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_percent
from markupsafe import Markup

from issuer.auth import principal, require_roles
from youcard.clock import berlin_date
from youcard.documents.spreadsheets import csv_text, euros
from youcard.domain.enums import Category
from youcard.policy import REPORT_READERS
from youcard.reads import reports
from youcard.reads.reminders import reminder_takeup
from youcard.web import db_session, now
from youcard.web.names import CATEGORY_NAMES, MESSAGE_EVENTS

bp = Blueprint("reports", __name__, url_prefix="/admin/reports")
FIRST_YEAR = 2020


def _year(text: str | None) -> int:
    this_year = berlin_date(now()).year
    if text is None:
        return this_year
    if not text.isdigit() or not FIRST_YEAR <= int(text) <= this_year:
        abort(404)
    return int(text)


def _report(year: int) -> reports.Uptake:
    return reports.uptake(db_session(), by=principal(), year=year, today=berlin_date(now()))


@bp.get("")
@require_roles(*REPORT_READERS)
def index() -> ResponseReturnValue:
    """The year's uptake, take-up rate and unused money."""
    year = _year(request.args.get("year"))
    report = _report(year)
    months = [f"{m:%m}" for m in report.months]
    names = {str(CATEGORY_NAMES[c]): report.by_category[c] for c in Category}
    chart = reports.bar_chart_svg(f"{year}", months, names)
    rate = report.take_up()
    takeup = reminder_takeup(db_session(), by=principal(), year=year, today=berlin_date(now()))
    return render_template(
        "admin/reports.html",
        report=report,
        takeup=takeup,
        reminder_names={r: MESSAGE_EVENTS[r] for r in takeup.reminded},
        percent=lambda share: "–" if share is None else format_percent(share),
        year=year,
        years=list(range(berlin_date(now()).year, FIRST_YEAR - 1, -1)),
        chart=Markup(chart),  # noqa: S704 (built by reports.bar_chart_svg, every text escaped)
        categories=list(Category),
        rate=None if rate is None else format_percent(rate),
        rates={
            c: (None if report.take_up(c) is None else format_percent(report.take_up(c)))
            for c in Category
        },
    )


@bp.get("/<int:year>/<any(categories, partners, takeup):kind>.csv")
@require_roles(*REPORT_READERS)
def csv_file(year: int, kind: str) -> ResponseReturnValue:
    """The report's figures as CSV (semicolons, German decimal commas)."""
    report = _report(_year(str(year)))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    months = [f"{m:%Y-%m}" for m in report.months]
    if kind == "categories":
        writer.writerow(["category", *months, "year"])
        for category, values in report.by_category.items():
            writer.writerow([category.value, *map(euros, values), euros(sum(values))])
    elif kind == "partners":
        writer.writerow(["partner", *months, "year"])
        for name, values in report.by_partner.items():
            writer.writerow([csv_text(name), *map(euros, values), euros(sum(values))])
    else:
        writer.writerow(
            [
                "category",
                "children_entitled",
                "children_with_bookings",
                "approved_eur",
                "unused_eur",
            ]
        )
        for category in Category:
            writer.writerow(
                [
                    category.value,
                    report.entitled_children.get(category, 0),
                    report.children_with_bookings.get(category, 0),
                    _money(report.approved_cents.get(category)),
                    _money(report.unused_cents.get(category)),
                ]
            )
        writer.writerow(["all", report.entitled_total, report.with_bookings_total, "", ""])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="youcard-{year}-{kind}.csv"'
    return response


def _money(cents: int | None) -> str:
    """Euros, or empty where the benefits count units (meals), not money."""
    return "" if cents is None else euros(cents)
