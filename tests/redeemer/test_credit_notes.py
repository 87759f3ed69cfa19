"""Partners see what the city pays them: credit notes (API and scanner page, PDF) and the
statement turning final once the month is settled; never another partner's."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pypdfium2
import pytest

from tests.factories import at_counter, trusted
from tests.redeemer.test_scanner import HTTPS, _login
from youcard.domain.enums import Category
from youcard.domain.models import Booking
from youcard.operations.booking import book, cancel_booking
from youcard.operations.settlements import finalize, prepare
from youcard.policy import Staff

FEB = datetime(2026, 2, 10, 10, tzinfo=UTC)
MARCH_16 = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)


def _pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


@pytest.fixture
def settled(world, committed):
    """A partner with two bookings in February (one cancelled), February finalized."""
    w = world()
    with committed.begin() as session:
        ids = [
            book(
                session, by=at_counter(w.partner_id), credential=w.credential,
                trusted=trusted(session, w.issuer_id),
                category=Category.PARTICIPATION, amount_cents=cents,
                idempotency_key=f"feb-{cents}", now=FEB, reference=f"Mitglied {cents}",
            ).booking.id
            for cents in (1500, 500)
        ]  # fmt: skip
        cancel_booking(session, by=at_counter(w.partner_id), booking_id=ids[1], now=FEB)
        run = prepare(
            session, by=Staff.system(w.issuer_id, "a"), month=date(2026, 2, 1), now=MARCH_16
        )
        finalize(session, settlement_id=run.id, by=Staff.system(w.issuer_id, "a"), now=MARCH_16)
    w.extra["booking_ids"] = ids
    return w


def test_the_api_lists_credit_notes_and_serves_the_pdf(client, settled, world):
    r = client.get("/api/v1/credit-notes", headers=settled.auth)
    assert r.status_code == 200
    [note] = r.json["items"]
    assert (note["month"], note["net_cents"], note["amount_cents"]) == ("2026-02", 1500, 1500)
    pdf = client.get(f"/api/v1/credit-notes/{note['id']}.pdf", headers=settled.auth)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _pdf_text(pdf.data)
    assert f"Gutschrift {note['number']}" in text
    assert str(settled.extra["booking_ids"][0]) in text and "15,00" in text and "-5,00" in text
    assert "Ihre Referenz" in text and "Mitglied 1500" in text  # the club's member number
    stranger = world()
    assert client.get("/api/v1/credit-notes", headers=stranger.auth).json["items"] == []
    other = client.get(f"/api/v1/credit-notes/{note['id']}.pdf", headers=stranger.auth)
    assert other.status_code == 404 and other.json["code"] == "credit_note_not_found"
    assert client.get("/api/v1/credit-notes").status_code == 401


def test_the_statement_is_final_once_the_month_is_settled(client, settled):
    february = client.get("/api/v1/statements/2026-02", headers=settled.auth).json
    march = client.get("/api/v1/statements/2026-03", headers=settled.auth).json
    assert february["status"] == "final" and february["total_cents"] == 1500
    assert march["status"] == "provisional"


def test_the_scanner_page_shows_credit_notes_to_its_own_partner_only(
    client, app, settled, world, counter_user, committed
):
    username, _ = counter_user(settled.partner_id)
    _login(client, username)
    page = client.get("/statement?month=2026-02", base_url=HTTPS).get_data(as_text=True)
    assert "Endgültig" in page and "Gutschrift YC-" in page
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "Gutschrift" not in title  # the list is in the page, not the title
    link = page.split('href="/credit-notes/', 1)[1].split('"', 1)[0]
    pdf = client.get(f"/credit-notes/{link}", base_url=HTTPS)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    other = app.test_client()
    stranger_name, _ = counter_user(world().partner_id)
    _login(other, stranger_name)
    assert other.get(f"/credit-notes/{link}", base_url=HTTPS).status_code == 404
    assert "Gutschrift YC-" not in other.get("/statement?month=2026-02", base_url=HTTPS).get_data(
        as_text=True
    )
    with committed() as session:
        assert session.get(Booking, settled.extra["booking_ids"][0]).settlement_id is not None


def test_the_credit_notes_cells_stay_within_their_columns(client, settled):
    """#27.5: "Leistung am" ran into "Leistung", the category's name into "Ihre Referenz"."""
    [note] = client.get("/api/v1/credit-notes", headers=settled.auth).json["items"]
    pdf = client.get(f"/api/v1/credit-notes/{note['id']}.pdf", headers=settled.auth).data
    page = pypdfium2.PdfDocument(pdf)[0]
    text = page.get_textpage()
    mm = 72 / 25.4
    edges = [10.0]
    for width in (18, 30, 24, 50, 42, 26):  # the table's columns (youcard.documents.credit_notes)
        edges.append(edges[-1] + width)
    whole = text.get_text_range()
    start, end = whole.index("Buchung"), whole.index("Summe der Buchungen")  # the table
    glyphs = []
    for i in range(start, end):
        left, bottom, right, _top = text.get_charbox(i)
        if text.get_text_range(i, 1).strip():
            glyphs.append((bottom, left / mm, right / mm, text.get_text_range(i, 1)))
    rows: dict[float, list[tuple[float, float, str]]] = {}
    for bottom, left, right, letter in sorted(glyphs, reverse=True):
        line = next((y for y in rows if y - bottom < 4), bottom)  # a line: within 4 pt
        rows.setdefault(line, []).append((left, right, letter))
    table = list(rows.values())
    assert len(table) == 4  # the header, two bookings, the cancellation of one
    for row in table:
        for left, right, _c in row:  # each glyph inside one column, clear of the next one
            column = next(k for k in range(6) if edges[k] <= left < edges[k + 1])
            assert right <= edges[column + 1] - 0.5, ("".join(c for *_x, c in row), left)
