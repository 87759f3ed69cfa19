"""What happened offline: a partner's own offline bookings (booked or not covered), and the
city's offline-risk report per partner and month beside its bound (docs/offline.md)."""

from __future__ import annotations

import json
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select

from youcard.db import Session
from youcard.domain.enums import Category
from youcard.domain.models import OfflineAllowance, OfflineBooking, OfflineLimit, Partner
from youcard.policy import REPORT_READERS, Counter, Staff, require_role

DAY = timedelta(days=1)


@dataclass(frozen=True)
class OfflinePage:
    rows: list[OfflineBooking]
    next_before: int | None


def partner_offline_bookings(
    session: Session,
    *,
    by: Counter,
    limit: int,
    before: int | None = None,
    outcome: str | None = None,
) -> OfflinePage:
    """The partner's own offline bookings as they arrived, newest first."""
    query = select(OfflineBooking).where(OfflineBooking.partner_id == by.partner_id)
    if outcome is not None:
        query = query.where(OfflineBooking.outcome == outcome)
    if before is not None:
        query = query.where(OfflineBooking.id < before)
    rows = list(session.scalars(query.order_by(OfflineBooking.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return OfflinePage(rows, rows[-1].id if more and rows else None)


@dataclass(frozen=True)
class RiskLine:
    """One partner's month offline: what happened, and the most it could have been."""

    partner_id: int
    partner_name: str
    booked_count: int
    booked_cents: int
    not_covered_count: int
    not_covered_cents: int
    late_count: int
    cards: int  # cards booked offline
    days: int  # days on which a counter of the partner held an allowance
    devices: int  # counters that fetched an allowance
    bound_cents: int  # the highest limit x cards x days x devices


def offline_limits(session: Session, *, by: Staff) -> dict[Category, int]:
    """The issuer's offline limit per category (0 where none is set: offline booking off)."""
    require_role(by, REPORT_READERS, "read the offline limits")
    found = {
        row.category: row.cents_per_card_day
        for row in session.scalars(
            select(OfflineLimit).where(OfflineLimit.issuer_id == by.issuer_id)
        )
    }
    return {category: found.get(category, 0) for category in Category}


def offline_risk(session: Session, *, by: Staff, month: date) -> list[RiskLine]:
    """Per partner with offline activity on the issuer's cards in `month` (its first day),
    by day of service: count and sum booked offline, not covered, late; beside the bound the
    limits put on it (the issuer's highest offline limit x cards x days x devices). For
    approvers and administrators."""
    require_role(by, REPORT_READERS, "read the city's figures")
    issuer_id = by.issuer_id
    first = month.replace(day=1)
    last = first.replace(day=monthrange(first.year, first.month)[1])
    booked = OfflineBooking.outcome == "booked"
    rows = session.execute(
        select(
            OfflineBooking.partner_id,
            Partner.name,
            func.sum(case((booked, 1), else_=0)),
            func.sum(case((booked, OfflineBooking.amount_cents), else_=0)),
            func.sum(case((booked, 0), else_=1)),
            func.sum(case((booked, 0), else_=OfflineBooking.amount_cents)),
            func.sum(case((OfflineBooking.late, 1), else_=0)),
            func.count(OfflineBooking.card_id.distinct()),
        )
        .join(Partner, Partner.id == OfflineBooking.partner_id)
        .where(
            OfflineBooking.issuer_id == issuer_id,
            OfflineBooking.service_date.between(first, last),
        )
        .group_by(OfflineBooking.partner_id, Partner.name)
        .order_by(Partner.name)
    ).all()
    highest = session.scalar(
        select(func.coalesce(func.max(OfflineLimit.cents_per_card_day), 0)).where(
            OfflineLimit.issuer_id == issuer_id
        )
    )
    lines = []
    for partner_id, name, n_booked, s_booked, n_not, s_not, n_late, cards in rows:
        days, devices = _allowance_days(session, partner_id, issuer_id, first, last)
        lines.append(
            RiskLine(
                partner_id,
                name,
                int(n_booked),
                int(s_booked),
                int(n_not),
                int(s_not),
                int(n_late),
                int(cards),
                days,
                devices,
                int(highest or 0) * int(cards) * days * devices,
            )
        )
    return lines


def _allowance_days(
    session: Session, partner_id: int, issuer_id: str, first: date, last: date
) -> tuple[int, int]:
    """Days of the month on which one of the partner's counters held an allowance for the
    issuer's cards, and how many counters did."""
    days: set[date] = set()
    devices: set[str] = set()
    for key, issued, until, limits in session.execute(
        select(
            OfflineAllowance.device_key,
            OfflineAllowance.issued_at,
            OfflineAllowance.valid_until,
            OfflineAllowance.limits,
        ).where(  # those that can reach into the month (a day's margin for the zones)
            OfflineAllowance.partner_id == partner_id,
            OfflineAllowance.valid_until >= datetime.combine(first - DAY, time(), UTC),
            OfflineAllowance.issued_at < datetime.combine(last + 2 * DAY, time(), UTC),
        )
    ):
        if issuer_id not in json.loads(limits):
            continue
        start, end = max(issued.date(), first), min(until.date(), last)
        if start > end:
            continue
        devices.add(key)
        days.update(date.fromordinal(n) for n in range(start.toordinal(), end.toordinal() + 1))
    return len(days), len(devices)
