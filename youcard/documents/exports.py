"""Exports for the case-management system and the city's statistics (docs/imports.md "Import
from the case-management system", the reverse direction): CSV for German spreadsheets,
streamed (a city's month is a million bookings), no cell ever a formula.

- balances: per child and benefit live in the month — approved (the whole period's
  budget; empty for a benefit counted in units, such as lunch), booked net until the
  month's end, booked net in the month, left at its end.
- bookings: net bookings per child and benefit in the month, with the legal basis (for the
  statistics office; it appears nowhere else, never to a partner).

Children are named by the case system's keys (child_ref, case_ref, decision_ref) and
YouCard's own child id, never by name: the case system has the names.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import case, func, select

from youcard.db import Session
from youcard.documents.spreadsheets import csv_lines, csv_text, euros
from youcard.domain import budget
from youcard.domain.enums import BookingKind, EntitlementStatus
from youcard.domain.models import Booking, Child, Entitlement, Household
from youcard.policy import REPORT_READERS, Staff, require_role

KINDS = ("balances", "bookings")
_ROWS = 5_000  # rows fetched at a time

BALANCE_HEADER = (
    "youcard_child_id",
    "child_ref",
    "case_ref",
    "decision_ref",
    "category",
    "valid_from",
    "valid_until",
    "status",
    "approved_eur",
    "booked_net_until_month_end_eur",
    "booked_net_in_month_eur",
    "left_at_month_end_eur",
)
BOOKING_HEADER = (
    "month",
    "youcard_child_id",
    "child_ref",
    "case_ref",
    "decision_ref",
    "category",
    "legal_basis",
    "bookings",
    "cancellations",
    "units_net",
    "booked_net_eur",
)


def _signed(column: Any) -> Any:
    return case((Booking.kind == BookingKind.CANCELLATION, -column), else_=column)


def _text(value: str | None) -> str:
    return csv_text(value or "")


def balances(session: Session, *, by: Staff, month: date) -> Iterator[str]:
    """The balances CSV of `month` (its first day), a line at a time."""
    require_role(by, REPORT_READERS, "export balances")
    first, after = month, budget.add_months(month, 1)
    until_end = (
        select(
            Booking.entitlement_id.label("entitlement_id"),
            func.sum(_signed(Booking.amount_cents)).label("until_end"),
            func.sum(
                case((Booking.service_date >= first, _signed(Booking.amount_cents)), else_=0)
            ).label("in_month"),
        )
        .where(Booking.issuer_id == by.issuer_id, Booking.service_date < after)
        .group_by(Booking.entitlement_id)
        .subquery()
    )
    query = (
        select(
            Child.id,
            Child.child_ref,
            Household.reference,
            Entitlement.decision_ref,
            Entitlement.category,
            Entitlement.valid_from,
            Entitlement.valid_until,
            Entitlement.status,
            Entitlement.cap_cents,
            func.coalesce(until_end.c.until_end, 0),
            func.coalesce(until_end.c.in_month, 0),
        )
        .join(Child, Child.id == Entitlement.child_id)
        .join(Household, Household.id == Child.household_id)
        .outerjoin(until_end, until_end.c.entitlement_id == Entitlement.id)
        .where(
            Entitlement.issuer_id == by.issuer_id,
            Entitlement.status.in_((EntitlementStatus.APPROVED, EntitlementStatus.REVOKED)),
            Entitlement.valid_from < after,
            Entitlement.valid_until >= first,
        )
        .order_by(Child.id, Entitlement.category, Entitlement.valid_from)
        .execution_options(yield_per=_ROWS)
    )

    def rows() -> Iterator[list[object]]:
        yield list(BALANCE_HEADER)
        for (
            child_id,
            child_ref,
            case_ref,
            decision_ref,
            category,
            valid_from,
            valid_until,
            status,
            cap,
            booked,
            in_month,
        ) in session.execute(query):
            yield [
                child_id,
                _text(child_ref),
                _text(case_ref),
                _text(decision_ref),
                category.value,
                valid_from.isoformat(),
                valid_until.isoformat(),
                status.value,
                "" if cap is None else euros(cap),
                euros(int(booked)),
                euros(int(in_month)),
                "" if cap is None else euros(cap - int(booked)),
            ]

    return csv_lines(rows())


def bookings(session: Session, *, by: Staff, month: date) -> Iterator[str]:
    """The net bookings CSV of `month` (by service date), with the legal basis."""
    require_role(by, REPORT_READERS, "export bookings")
    first, after = month, budget.add_months(month, 1)
    sums = (
        select(
            Booking.entitlement_id.label("entitlement_id"),
            func.sum(case((Booking.kind == BookingKind.BOOKING, 1), else_=0)).label("made"),
            func.sum(case((Booking.kind == BookingKind.CANCELLATION, 1), else_=0)).label(
                "cancelled"
            ),
            func.sum(_signed(Booking.units)).label("units"),
            func.sum(_signed(Booking.amount_cents)).label("cents"),
        )
        .where(
            Booking.issuer_id == by.issuer_id,
            Booking.service_date >= first,
            Booking.service_date < after,
        )
        .group_by(Booking.entitlement_id)
        .subquery()
    )
    query = (
        select(
            Child.id,
            Child.child_ref,
            Household.reference,
            Entitlement.decision_ref,
            Entitlement.category,
            Entitlement.legal_basis,
            sums.c.made,
            sums.c.cancelled,
            sums.c.units,
            sums.c.cents,
        )
        .join(Entitlement, Entitlement.id == sums.c.entitlement_id)
        .join(Child, Child.id == Entitlement.child_id)
        .join(Household, Household.id == Child.household_id)
        .order_by(Child.id, Entitlement.category, Entitlement.id)
        .execution_options(yield_per=_ROWS)
    )

    def rows() -> Iterator[list[object]]:
        yield list(BOOKING_HEADER)
        label = f"{month:%Y-%m}"
        for (
            child_id,
            child_ref,
            case_ref,
            decision_ref,
            category,
            legal_basis,
            made,
            cancelled,
            units,
            cents,
        ) in session.execute(query):
            yield [
                label,
                child_id,
                _text(child_ref),
                _text(case_ref),
                _text(decision_ref),
                category.value,
                legal_basis or "",
                int(made),
                int(cancelled),
                int(units),
                euros(int(cents)),
            ]

    return csv_lines(rows())
