"""A settlement run's files: CSV (a line per partner and category, a line per booking) and
the SEPA credit transfer (pain.001.001.09, made and XSD-validated by sepaxml).

The bookings CSV streams: rows are read in batches, so a run of a million bookings is
written with flat memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from sepaxml import SepaTransfer
from sqlalchemy import select

from youcard.clock import DateOutOfRange, parse_day
from youcard.db import Session
from youcard.documents.spreadsheets import csv_lines, csv_text, euros
from youcard.domain.models import (
    Booking,
    Issuer,
    Partner,
    Settlement,
    SettlementLine,
    SettlementPayment,
)
from youcard.domain.settlement_rules import run_selection
from youcard.errors import Conflict, InvalidRequest

SEPA_SCHEMA = "pain.001.001.09"  # accepted by German banks (DFÜ-Abkommen Anlage 3, since 2023)
BATCH = 10_000


def lines_csv(session: Session, run: Settlement) -> str:
    """A line per partner and category, then a line per partner's payment."""
    names = dict(session.execute(select(Partner.id, Partner.name)).all())

    def rows() -> Iterator[list[object]]:
        yield [
            "month",
            "partner_id",
            "partner",
            "category",
            "bookings",
            "booked_eur",
            "cancellations",
            "cancelled_eur",
            "net_eur",
        ]
        for line in session.scalars(
            select(SettlementLine)
            .where(SettlementLine.settlement_id == run.id)
            .order_by(SettlementLine.partner_id, SettlementLine.category)
        ):
            yield [
                f"{run.month:%Y-%m}",
                line.partner_id,
                csv_text(names.get(line.partner_id, "")),
                line.category.value,
                line.bookings,
                euros(line.booked_cents),
                line.cancellations,
                euros(line.cancelled_cents),
                euros(line.net_cents),
            ]

    return "".join(csv_lines(rows()))


def payments_csv(session: Session, run: Settlement) -> str:
    """A line per partner: net, carried over, paid, IBAN."""

    def rows() -> Iterator[list[object]]:
        yield [
            "month",
            "partner_id",
            "partner",
            "iban",
            "net_eur",
            "carried_in_eur",
            "paid_eur",
            "carried_out_eur",
            "end_to_end_id",
        ]
        for p in _payments(session, run):
            yield [
                f"{run.month:%Y-%m}",
                p.partner_id,
                csv_text(p.partner_name),
                p.iban,
                euros(p.net_cents),
                euros(p.carried_in_cents),
                euros(p.amount_cents),
                euros(p.carried_out_cents),
                p.end_to_end_id,
            ]

    return "".join(csv_lines(rows()))


def bookings_csv(session: Session, run: Settlement) -> Iterator[str]:
    """A line per booking and cancellation of the run, streamed in batches."""
    columns = (
        Booking.id,
        Booking.kind,
        Booking.cancels_id,
        Booking.partner_id,
        Booking.category,
        Booking.amount_cents,
        Booking.units,
        Booking.service_date,
        Booking.created_at,
        Booking.reference,
    )

    def rows() -> Iterator[list[object]]:
        yield [
            "booking",
            "kind",
            "cancels",
            "partner_id",
            "category",
            "amount_eur",
            "units",
            "service_date",
            "created_at",
            "reference",
        ]
        result = session.execute(
            select(*columns).where(run_selection(run)).order_by(Booking.id),
            execution_options={"yield_per": BATCH},
        )
        for row in result:
            sign = 1 if row.kind.value == "booking" else -1
            yield [
                row.id,
                row.kind.value,
                row.cancels_id or "",
                row.partner_id,
                row.category.value,
                euros(sign * row.amount_cents),
                row.units,
                row.service_date.isoformat(),
                row.created_at.isoformat(),
                csv_text(row.reference or ""),
            ]

    return csv_lines(rows())


def _payments(session: Session, run: Settlement) -> list[SettlementPayment]:
    return list(
        session.scalars(
            select(SettlementPayment)
            .where(SettlementPayment.settlement_id == run.id)
            .order_by(SettlementPayment.partner_id)
        )
    )


EXECUTION_AHEAD = timedelta(days=365)  # banks take transfers dated up to a year ahead


def next_working_day(day: date) -> date:
    """The next day from Monday to Friday after `day` (a payment's usual execution date)."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def execution_day(text: str, today: date) -> date:
    """The execution date asked for (`YYYY-MM-DD`): empty is the next working day; a date
    that cannot be read, lies in the past or more than a year ahead is refused, never
    replaced by another one (the administrator would pay on a day nobody chose)."""
    if not text.strip():
        return next_working_day(today)
    try:
        day = parse_day(text)
    except DateOutOfRange:
        raise InvalidRequest(
            "The execution date cannot be read (YYYY-MM-DD).", code="invalid_execution_date"
        ) from None
    if day < today or day > today + EXECUTION_AHEAD:
        raise InvalidRequest(
            "The execution date must lie between today and a year from now.",
            code="invalid_execution_date",
        )
    return day


def sepa_xml(session: Session, run: Settlement, *, execution_date: date) -> bytes:
    """The run's payments as one SEPA credit transfer batch from the city's account.

    Only a finalized run is paid; partners with nothing to be paid are left out.
    """
    if run.status.value != "finalized":
        raise Conflict("Only a finalized run is paid.", code="not_finalized")
    issuer = session.get(Issuer, run.issuer_id)
    assert issuer is not None
    if not issuer.iban:
        raise Conflict(
            "The city's account (IBAN) for paying partners is not set.", code="no_debtor_account"
        )
    config = {
        "name": issuer.name[:70],
        "IBAN": issuer.iban,
        "batch": True,
        "currency": "EUR",
    }
    if issuer.bic:
        config["BIC"] = issuer.bic
    payable = [p for p in _payments(session, run) if p.amount_cents > 0]
    if not payable:
        # A SEPA file must hold at least one transfer: a month with nothing to pay (no
        # bookings, or every partner's corrections carried forward) has no file.
        raise Conflict(
            "Nothing is to be paid for this month: there is no SEPA file.", code="nothing_to_pay"
        )
    transfer = SepaTransfer(config, schema=SEPA_SCHEMA, clean=True)
    for payment in payable:
        transfer.add_payment(
            {
                "name": payment.partner_name[:70],
                "IBAN": payment.iban,
                "amount": payment.amount_cents,
                "execution_date": execution_date,
                "description": f"{run.reference} Gutschrift {payment.end_to_end_id}",
                "endtoend_id": payment.end_to_end_id,
            }
        )
    xml: bytes = transfer.export(validate=True, pretty_print=True)
    return xml
