"""QR images (PNG, SVG) and printable cards (ID-1 PDF, A4 sheets) for YC1 credentials.

QR: alphanumeric mode, error correction M, quiet zone 4 (docs/credential.md). PDFs are
made with fpdf2; the QR is drawn as vector rectangles so it stays sharp at any
printer resolution. Fonts: DejaVu Sans, vendored with its licence.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import qrcode
import qrcode.image.svg
from qrcode.util import MODE_ALPHA_NUM, QRData

from youcard.documents.pdf_text import ShapingPDF

QUIET_ZONE = 4
MAX_QR_VERSION = 8  # 49×49 modules: what cheap phone cameras read at a counter
CARD_W, CARD_H = 85.6, 54.0  # ID-1, millimetres
QR_MM = 30.0  # with the quiet zone: scans from 30 cm
SHEET_COLUMNS, SHEET_ROWS = 2, 5
SHEET_MARGIN_X, SHEET_MARGIN_Y = (210 - 2 * CARD_W) / 2, (297 - 5 * CARD_H) / 2

BACK_TEXT_DE = (
    "Diese YouCard gilt für Leistungen für Bildung und Teilhabe: Vereine, Musikschule, "
    "Lernförderung, Mittagessen. Zeigen Sie die Karte beim Anbieter vor."
)
BACK_LOST_DE = (
    "Karte verloren? Melden Sie es sofort der Stadt: die Karte wird gesperrt, "
    "Sie bekommen eine neue."
)
BACK_TEXT_EN = (
    "This YouCard pays for education and participation benefits: clubs, music school, "
    "tutoring, school lunch. Show it to the provider."
)
BACK_LOST_EN = "Card lost? Tell the city at once: the card is blocked and you get a new one."


class QRTooLarge(ValueError):
    """The text does not fit the QR version the design allows."""


@lru_cache(maxsize=4096)
def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules (with quiet zone) of `text`; cached, a render costs milliseconds."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE, box_size=1
    )
    qr.add_data(QRData(text.encode("ascii"), mode=MODE_ALPHA_NUM, check_data=True))
    qr.make(fit=True)
    if qr.version > MAX_QR_VERSION:
        raise QRTooLarge(f"needs QR version {qr.version}, more than {MAX_QR_VERSION}")
    return tuple(tuple(bool(m) for m in row) for row in qr.get_matrix())


def qr_version(text: str) -> int:
    """The QR version `text` needs (modules per side = 17 + 4 * version)."""
    return (len(qr_matrix(text)) - 2 * QUIET_ZONE - 17) // 4


@lru_cache(maxsize=1024)
def qr_png(text: str, box_size: int = 8) -> bytes:
    """The QR as a black-on-white PNG with `box_size` pixels per module; cached per text."""
    from PIL import Image

    matrix = qr_matrix(text)
    side = len(matrix)
    small = Image.new("1", (side, side), 1)
    small.putdata([0 if module else 1 for row in matrix for module in row])
    image = small.resize((side * box_size, side * box_size), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@lru_cache(maxsize=1024)
def qr_svg(text: str) -> str:
    """The QR as an SVG path (scales without blur); cached per text."""
    matrix = qr_matrix(text)
    side = len(matrix)
    path = "".join(
        f"M{x},{y}h{length}v1h-{length}z"
        for y, row in enumerate(matrix)
        for x, length in _runs(row)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'shape-rendering="crispEdges" role="img" aria-label="YouCard QR">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )


def _runs(row: Sequence[bool]) -> list[tuple[int, int]]:
    """(start, length) of each run of dark modules in a row."""
    runs, start = [], None
    for x, dark in enumerate([*row, False]):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            runs.append((start, x - start))
            start = None
    return runs


@dataclass(frozen=True)
class PrintedCard:
    """What goes on a printed card."""

    issuer_name: str
    given_name: str
    family_name: str
    valid_until: date
    credential: str
    card_number: str
    office: str = ""  # whom to call when it is lost ("Stadt Hamm · Tel. 02381 17-0")
    directory: str = ""  # where the card is taken: the public directory's address


class _CardPDF(ShapingPDF):
    def __init__(self, *, fmt: str | tuple[float, float]) -> None:
        super().__init__(unit="mm", format=fmt)
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        self.set_lang("de")

    def qr(self, text: str, x: float, y: float, size: float) -> None:
        matrix = qr_matrix(text)
        module = size / len(matrix)
        self.set_fill_color(255, 255, 255)
        self.rect(x, y, size, size, style="F")
        self.set_fill_color(0, 0, 0)
        for row_index, row in enumerate(matrix):
            for start, length in _runs(row):
                self.rect(x + start * module, y + row_index * module, length * module, module, "F")

    def front(self, card: PrintedCard, x: float, y: float) -> None:
        self.set_draw_color(160, 160, 160)
        self.rect(x, y, CARD_W, CARD_H)
        self.set_fill_color(0, 84, 147)
        self.rect(x, y, CARD_W, 9, style="F")
        self.set_text_color(255, 255, 255)
        self.set_font("DejaVu", "B", 10)
        self.set_xy(x + 4, y + 1.5)
        self.cell(CARD_W - 8, 6, f"YouCard · {card.issuer_name}")
        self.set_text_color(0, 0, 0)
        qr_y = y + 9 + (CARD_H - 9 - QR_MM) / 2
        self.qr(card.credential, x + CARD_W - QR_MM - 3, qr_y, QR_MM)
        text_w = CARD_W - QR_MM - 9
        self.set_xy(x + 4, y + 13)
        self.set_font("DejaVu", "B", 11)
        self.multi_cell(text_w, 5, f"{card.given_name}\n{card.family_name}", align="L")
        self.set_font("DejaVu", "", 7.5)
        self.set_xy(x + 4, y + 31)
        self.multi_cell(
            text_w,
            3.6,
            f"Gültig bis / valid until\n{card.valid_until:%d.%m.%Y}\n"
            f"Karte / card {card.card_number}",
            align="L",
        )

    def back(self, card: PrintedCard, x: float, y: float) -> None:
        self.set_draw_color(160, 160, 160)
        self.rect(x, y, CARD_W, CARD_H)
        self.set_xy(x + 4, y + 3)
        self.set_font("DejaVu", "B", 7.5)
        self.cell(CARD_W - 8, 4, "Bildung und Teilhabe · Education and participation")
        self.set_y(y + 9)
        self.set_font("DejaVu", "", 6.3)
        for text, gap in (
            (BACK_TEXT_DE, 1),
            (BACK_LOST_DE, 2.5),
            (BACK_TEXT_EN, 1),
            (BACK_LOST_EN, 0),
        ):
            self.set_x(x + 4)
            self.multi_cell(CARD_W - 8, 2.9, text, align="L", new_x="LMARGIN", new_y="NEXT")
            self.set_y(self.get_y() + gap)
        self.set_xy(x + 4, y + CARD_H - 9)
        self.set_font("DejaVu", "B", 6)
        self.cell(CARD_W - 8, 3, card.office or card.issuer_name)
        self.set_xy(x + 4, y + CARD_H - 5.5)
        self.set_font("DejaVu", "", 5.5)
        if card.directory:  # where families find the partners that take the card
            text, size = f"Wo sie gilt / where: {card.directory}", 5.5
            while self.get_string_width(text) > CARD_W - 8 and size > 4:
                size -= 0.25  # a long address: smaller, never past the card's edge
                self.set_font("DejaVu", "", size)
            self.cell(CARD_W - 8, 3, text)
        else:
            self.cell(CARD_W - 8, 3, f"{card.issuer_name} · Karte {card.card_number}")


def card_pdf(card: PrintedCard) -> bytes:
    """One card in ID-1 size: page 1 the front, page 2 the back."""
    pdf = _CardPDF(fmt=(CARD_W, CARD_H))
    pdf.set_title(f"YouCard {card.given_name} {card.family_name}")
    pdf.add_page()
    pdf.front(card, 0, 0)
    pdf.add_page()
    pdf.back(card, 0, 0)
    return bytes(pdf.output())


def sheet_pdf(cards: Sequence[PrintedCard]) -> bytes:
    """A4 sheets of 10 cards: fronts, then the backs mirrored for long-edge duplex printing."""
    pdf = _CardPDF(fmt="A4")
    pdf.set_title("YouCard – Kartenbogen")
    per_page = SHEET_COLUMNS * SHEET_ROWS
    for first in range(0, max(len(cards), 1), per_page):
        batch = cards[first : first + per_page]
        pdf.add_page()
        for i, card in enumerate(batch):
            row, column = divmod(i, SHEET_COLUMNS)
            pdf.front(card, SHEET_MARGIN_X + column * CARD_W, SHEET_MARGIN_Y + row * CARD_H)
        pdf.add_page()
        for i, card in enumerate(batch):
            row, column = divmod(i, SHEET_COLUMNS)
            mirrored = SHEET_COLUMNS - 1 - column
            pdf.back(card, SHEET_MARGIN_X + mirrored * CARD_W, SHEET_MARGIN_Y + row * CARD_H)
    return bytes(pdf.output())
