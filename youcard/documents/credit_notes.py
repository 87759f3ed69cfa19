"""The credit note (Gutschrift) a finalized run makes for each partner: its bookings and
cancellations, the net, what was carried over, and what is paid. PDF made with fpdf2."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from youcard.clock import berlin_date
from youcard.db import Session
from youcard.documents.pdf_text import ShapingPDF
from youcard.documents.spreadsheets import euros
from youcard.domain.enums import BookingKind, Category, SettlementStatus
from youcard.domain.models import Booking, Issuer, Settlement, SettlementPayment
from youcard.errors import NotFound

CATEGORY_DE = {
    Category.PARTICIPATION: "Soziale und kulturelle Teilhabe",
    Category.LUNCH: "Mittagessen",
    Category.TUTORING: "Lernförderung",
    Category.TRIPS: "Ausflüge und Klassenfahrten",
}


@dataclass(frozen=True)
class CreditNote:
    """A partner's payment in a finalized run, as the partner sees it."""

    payment_id: int
    settlement_id: int
    issuer_id: str
    issuer_name: str
    month: date
    reference: str
    number: str
    partner_id: int
    partner_name: str
    iban: str
    net_cents: int
    carried_in_cents: int
    amount_cents: int
    carried_out_cents: int
    finalized: date


def credit_notes(session: Session, *, partner_id: int) -> list[CreditNote]:
    """The partner's credit notes, newest first: only finalized runs make them."""
    rows = session.execute(
        select(SettlementPayment, Settlement, Issuer.name)
        .join(Settlement, Settlement.id == SettlementPayment.settlement_id)
        .join(Issuer, Issuer.id == Settlement.issuer_id)
        .where(
            SettlementPayment.partner_id == partner_id,
            Settlement.status == SettlementStatus.FINALIZED,
        )
        .order_by(Settlement.month.desc(), Settlement.issuer_id)
    ).all()
    return [_note(payment, run, issuer_name) for payment, run, issuer_name in rows]


def credit_note(session: Session, *, partner_id: int, payment_id: int) -> CreditNote:
    """One of the partner's credit notes (another partner's is not found)."""
    for note in credit_notes(session, partner_id=partner_id):
        if note.payment_id == payment_id:
            return note
    raise NotFound("No such credit note.", code="credit_note_not_found")


def _note(payment: SettlementPayment, run: Settlement, issuer_name: str) -> CreditNote:
    assert run.finalized_at is not None
    return CreditNote(
        payment_id=payment.id,
        settlement_id=run.id,
        issuer_id=run.issuer_id,
        issuer_name=issuer_name,
        month=run.month,
        reference=run.reference,
        number=payment.end_to_end_id,
        partner_id=payment.partner_id,
        partner_name=payment.partner_name,
        iban=payment.iban,
        net_cents=payment.net_cents,
        carried_in_cents=payment.carried_in_cents,
        amount_cents=payment.amount_cents,
        carried_out_cents=payment.carried_out_cents,
        finalized=berlin_date(run.finalized_at),
    )


def _bookings(session: Session, note: CreditNote) -> Iterator[Booking]:
    yield from session.scalars(
        select(Booking)
        .where(Booking.settlement_id == note.settlement_id, Booking.partner_id == note.partner_id)
        .order_by(Booking.id),
        execution_options={"yield_per": 5000},
    )


def filename(note: CreditNote) -> str:
    """The PDF's file name, e.g. gutschrift-YC-7-3.pdf."""
    return f"gutschrift-{note.number}.pdf"


def credit_note_pdf(session: Session, note: CreditNote) -> bytes:
    """The credit note as an A4 PDF (German, amounts in EUR)."""
    pdf = ShapingPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title(f"Gutschrift {note.number}")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 10, f"Gutschrift {note.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    for line in (
        f"{note.issuer_name} – Bildung und Teilhabe (YouCard)",
        f"an: {note.partner_name}, IBAN {note.iban}",
        f"Abrechnungsmonat: {note.month:%m/%Y}   Verwendungszweck: {note.reference}",
        f"Abgeschlossen am {note.finalized:%d.%m.%Y}",
    ):
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    # The partner's own reference (member or pupil number, a mandate's) on every line: a
    # club matches the transfer against its member list without asking anyone.
    # 190 mm between the margins; every cell's text is fitted to its column (a category's
    # name or a long reference is cut with "…", never run into the next column).
    widths = (18, 30, 24, 50, 42, 26)
    titles = ("Buchung", "Art", "Datum", "Leistung", "Ihre Referenz", "Betrag EUR")
    pdf.set_font("DejaVu", "B", 9)
    for width, title in zip(widths, titles, strict=True):
        pdf.cell(
            width,
            7,
            pdf.fitted(title, width),
            border="B",
            align="R" if title == "Betrag EUR" else "L",
        )
    pdf.ln()
    pdf.set_font("DejaVu", "", 9)
    for booking in _bookings(session, note):
        cancelled = booking.kind is BookingKind.CANCELLATION
        cells = (
            str(booking.id),
            f"Storno zu {booking.cancels_id}" if cancelled else "Buchung",
            f"{booking.service_date:%d.%m.%Y}",
            CATEGORY_DE[booking.category],
            booking.reference or "",
            euros(-booking.amount_cents if cancelled else booking.amount_cents),
        )
        for width, cell in zip(widths, cells, strict=True):
            pdf.cell(width, 6, pdf.fitted(cell, width), align="R" if cell is cells[-1] else "L")
        pdf.ln()
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 10)
    for label, cents in (
        ("Summe der Buchungen und Stornos", note.net_cents),
        ("Übertrag aus früheren Abrechnungen", note.carried_in_cents),
        ("Auszahlung", note.amount_cents),
        ("Übertrag in die nächste Abrechnung", note.carried_out_cents),
    ):
        pdf.cell(146, 7, label)
        pdf.cell(34, 7, euros(cents), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
