"""The city's figures on the hand-checked March of test_settlements: uptake per category
and partner per Berlin month, the take-up rate, unused money; other issuers excluded."""

from __future__ import annotations

from datetime import date
from xml.etree import ElementTree

import pytest

from tests.domain.test_settlements import BIG, City, _at, _book, _cancel, _city, march
from youcard.domain.enums import Category
from youcard.domain.models import Issuer
from youcard.policy import Staff
from youcard.reads import reports

__all__ = ["march"]


def test_uptake_per_category_and_partner_per_berlin_month(session, make, march):
    city, _ = march
    other = _city(make)
    _book(session, other, other.p1, 9900, _at(9, 3))  # another city: never in ours
    report = reports.uptake(
        session, by=Staff.system(city.issuer_id, "t"), year=2026, today=date(2026, 6, 2)
    )
    participation = report.by_category[Category.PARTICIPATION]
    # March: 15 + 10 + 20 - 20 + 12; the booking at 00:30 on 1 April (Berlin) is April's
    assert participation[2] == 3700 and participation[3] == 500 and sum(participation) == 4200
    assert report.by_category[Category.LUNCH][2] == 700
    assert report.by_category[Category.TRIPS] == [0] * 12
    assert report.by_partner == {
        city.p1.name: [0, 0, 3200, 500, 0, 0, 0, 0, 0, 0, 0, 0],
        city.p2.name: [0, 0, 1200, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    }
    assert (
        reports.uptake(
            session, by=Staff.system(city.issuer_id, "t"), year=2025, today=date(2026, 6, 2)
        ).by_partner
        == {}
    )


def test_take_up_rate_and_unused_money(session, make, march):
    city, _ = march
    home = session.get(Issuer, city.issuer_id)
    idle = make.child(home)  # entitled, never booked
    make.entitlement(idle, Category.PARTICIPATION, rule=BIG)
    only_cancelled = make.child(home)  # booked once, cancelled: not taken up
    make.entitlement(only_cancelled, Category.PARTICIPATION, rule=BIG)
    card = make.card(only_cancelled)
    twin = City(city.issuer_id, card, city.p1, city.p2, city.p3)
    booking = _book(session, twin, city.p1, 800, _at(20, 3))
    _cancel(session, city.p1, booking, _at(21, 3))
    report = reports.uptake(
        session, by=Staff.system(city.issuer_id, "t"), year=2026, today=date(2026, 6, 2)
    )
    assert report.entitled_children[Category.PARTICIPATION] == 3
    assert report.children_with_bookings[Category.PARTICIPATION] == 1
    assert (report.entitled_total, report.with_bookings_total) == (3, 1)
    assert report.take_up(Category.LUNCH) == 1.0
    assert abs(report.take_up() - 1 / 3) < 1e-9
    # three participation budgets of 10,000 EUR; 15 + 10 + 12 + 5 EUR kept
    assert report.approved_cents[Category.PARTICIPATION] == 3 * 1_000_000
    # #14.5: nothing is "unused" while the periods still run ...
    assert report.unused_cents[Category.PARTICIPATION] == 0
    # ... and once they have ended, what was approved and not booked
    after = reports.uptake(
        session, by=Staff.system(city.issuer_id, "t"), year=2026, today=date(2027, 1, 1)
    )
    assert after.unused_cents[Category.PARTICIPATION] == 3 * 1_000_000 - 4200
    assert after.unused_cents[Category.LUNCH] == 1_000_000 - 700


def test_a_category_counted_in_meals_shows_no_euros_approved(session, make):
    """#14.5: lunch counted in meals showed "Approved 0,00 €"."""
    from youcard.domain.budget import BudgetRule
    from youcard.domain.enums import RuleKind

    city = make.issuer()
    child = make.child(city)
    make.entitlement(
        child,
        Category.LUNCH,
        rule=BudgetRule(RuleKind.UNITS, 500, units_total=None, units_per_day=1),
    )
    report = reports.uptake(
        session, by=Staff.system(city.id, "t"), year=2026, today=date(2027, 1, 1)
    )
    assert report.entitled_children[Category.LUNCH] == 1
    assert Category.LUNCH not in report.approved_cents
    assert Category.LUNCH not in report.unused_cents


def test_the_chart_has_a_bar_per_month_and_series_and_a_text_alternative():
    svg = reports.bar_chart_svg(
        "2026 <&>", ["01", "02", "03"], {"A": [100, 0, 300], "B": [50, 60, 70]}
    )
    root = ElementTree.fromstring(svg)  # noqa: S314 (our own output)
    ns = {"s": "http://www.w3.org/2000/svg"}
    bars = root.findall("s:rect", ns)
    assert len(bars) == 6 and root.get("role") == "img"
    assert root.find("s:title", ns).text == "2026 <&>"
    heights = [float(b.get("height")) for b in bars]
    assert heights[4] == max(heights) and heights[2] == 0.0  # 300 is the tallest, 0 is flat


def test_only_approvers_and_administrators_read_the_figures(session, make):
    """The read model decides who may read the city's figures, not only the page."""
    from youcard.domain.enums import Role
    from youcard.errors import Forbidden

    issuer = make.issuer()
    caseworker = Staff.of(make.staff(issuer, Role.CASEWORKER))
    with pytest.raises(Forbidden):
        reports.uptake(session, by=caseworker, year=2026, today=date(2026, 6, 2))
    approver = Staff.of(make.staff(issuer, Role.APPROVER))
    assert reports.uptake(session, by=approver, year=2026, today=date(2026, 6, 2)).year == 2026
