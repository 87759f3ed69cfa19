"""Figures for the city: uptake per category and partner per month, the take-up rate
(children with a booking among children with an approved benefit), and money approved
but not used. Sums are made by the database; months are calendar months in Berlin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import and_, case, func, select

from youcard.clock import berlin_midnight
from youcard.db import Session
from youcard.domain import budget
from youcard.domain.enums import BookingKind, Category, EntitlementStatus
from youcard.domain.models import Booking, Entitlement, Partner
from youcard.policy import REPORT_READERS, Staff, require_role


@dataclass
class Uptake:
    """One issuer's year."""

    year: int
    months: list[date]
    by_category: dict[Category, list[int]]  # net cents per month
    by_partner: dict[str, list[int]] = field(default_factory=dict)  # partner name -> per month
    entitled_children: dict[Category, int] = field(default_factory=dict)
    children_with_bookings: dict[Category, int] = field(default_factory=dict)
    entitled_total: int = 0
    with_bookings_total: int = 0
    # Money approved for the benefits overlapping the year; a category whose benefits have no
    # money limit (lunch counted in meals) has no entry, so nobody reads "0,00 € approved".
    approved_cents: dict[Category, int] = field(default_factory=dict)
    # Money of benefits whose period has ended and that was not used: money of a period still
    # running may yet be used, so it is no "unused money".
    unused_cents: dict[Category, int] = field(default_factory=dict)

    def take_up(self, category: Category | None = None) -> float | None:
        """The share of entitled children with at least one booking (None: nobody entitled)."""
        if category is None:
            entitled, booked = self.entitled_total, self.with_bookings_total
        else:
            entitled = self.entitled_children.get(category, 0)
            booked = self.children_with_bookings.get(category, 0)
        return booked / entitled if entitled else None


def _month_index(months: list[date]) -> Any:
    """SQL: the index of the Berlin month a booking was made in (None outside the year)."""
    ends = [berlin_midnight(budget.add_months(m, 1)) for m in months]
    return case(
        *((Booking.created_at < end, index) for index, end in enumerate(ends)),
        else_=None,
    )


def uptake(session: Session, *, by: Staff, year: int, today: date) -> Uptake:
    """The figures of the principal's issuer for `year` (approvers and administrators);
    unused money counts only periods ended before `today`."""
    require_role(by, REPORT_READERS, "read the city's figures")
    issuer_id = by.issuer_id
    months = [date(year, m, 1) for m in range(1, 13)]
    start, end = berlin_midnight(months[0]), berlin_midnight(date(year + 1, 1, 1))
    signed = case(
        (Booking.kind == BookingKind.BOOKING, Booking.amount_cents), else_=-Booking.amount_cents
    )
    in_year = and_(
        Booking.issuer_id == issuer_id, Booking.created_at >= start, Booking.created_at < end
    )
    month = _month_index(months).label("month")
    report = Uptake(year, months, {c: [0] * 12 for c in Category})
    for category, index, cents in session.execute(
        select(Booking.category, month, func.sum(signed))
        .where(in_year)
        .group_by(Booking.category, month)
    ):
        report.by_category[Category(category)][int(index)] += int(cents)
    for name, index, cents in session.execute(
        select(Partner.name, month, func.sum(signed))
        .join(Partner, Partner.id == Booking.partner_id)
        .where(in_year)
        .group_by(Partner.name, month)
        .order_by(Partner.name)
    ):
        report.by_partner.setdefault(name, [0] * 12)[int(index)] += int(cents)

    overlapping = and_(
        Entitlement.issuer_id == issuer_id,
        Entitlement.status == EntitlementStatus.APPROVED,
        Entitlement.valid_from < date(year + 1, 1, 1),
        Entitlement.valid_until >= months[0],
    )
    ended = and_(Entitlement.valid_until < today, Entitlement.cap_cents.is_not(None))
    for category, children, approved, unused in session.execute(
        select(
            Entitlement.category,
            func.count(func.distinct(Entitlement.child_id)),
            func.sum(Entitlement.cap_cents),
            func.sum(case((ended, Entitlement.cap_cents - Entitlement.spent_cents), else_=0)),
        )
        .where(overlapping)
        .group_by(Entitlement.category)
    ):
        report.entitled_children[Category(category)] = int(children)
        if approved is not None:
            report.approved_cents[Category(category)] = int(approved)
            report.unused_cents[Category(category)] = int(unused or 0)
    report.entitled_total = int(
        session.scalar(select(func.count(func.distinct(Entitlement.child_id))).where(overlapping))
        or 0
    )
    # a child counts when a booking of the year was not cancelled
    cancelled = select(Booking.cancels_id).where(Booking.cancels_id.is_not(None))
    kept = and_(in_year, Booking.kind == BookingKind.BOOKING, Booking.id.not_in(cancelled))
    child = Entitlement.child_id
    for category, children in session.execute(
        select(Booking.category, func.count(func.distinct(child)))
        .join(Entitlement, Entitlement.id == Booking.entitlement_id)
        .where(kept)
        .group_by(Booking.category)
    ):
        report.children_with_bookings[Category(category)] = int(children)
    report.with_bookings_total = int(
        session.scalar(
            select(func.count(func.distinct(child)))
            .select_from(Booking)
            .join(Entitlement, Entitlement.id == Booking.entitlement_id)
            .where(kept)
        )
        or 0
    )
    return report


PALETTE = ("#005493", "#b35c00", "#1b7a3d", "#7a2a8a")  # distinct, 4.5:1 on white


def bar_chart_svg(
    title: str, months: list[str], series: dict[str, list[int]], *, unit: str = "€"
) -> str:
    """A grouped bar chart (one group a month, one bar a series) as accessible SVG: a title
    and a description for screen readers; the page shows the same numbers as a table."""
    width, height, left, bottom, top = 720, 260, 56, 28, 12
    peak = max([1, *(v for values in series.values() for v in values)])
    plot_w, plot_h = width - left - 8, height - bottom - top
    group = plot_w / max(1, len(months))
    bar = max(1.0, (group - 6) / max(1, len(series)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img"'
        f' aria-labelledby="chart-title chart-desc" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(title)}; the table below holds the same numbers.</desc>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}"'
        ' stroke="#1a1a1a"/>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11">'
        f"{peak / 100:,.0f} {escape(unit)}</text>",
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for m, label in enumerate(months):
        x0 = left + m * group + 3
        for s, values in enumerate(series.values()):
            value = max(0, values[m])
            h = plot_h * value / peak
            parts.append(
                f'<rect class="bar" x="{x0 + s * bar:.1f}" y="{top + plot_h - h:.1f}"'
                f' width="{bar:.1f}" height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}"/>'
            )
        parts.append(
            f'<text x="{x0 + group / 2 - 3:.1f}" y="{height - 10}" text-anchor="middle"'
            f' font-size="11">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
