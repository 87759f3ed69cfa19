"""QR images and printed cards, read back with a real decoder (zxing-cpp) and verified."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date

import pypdfium2
import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from tests.credentials.test_codec import GENUINE, NOW, TRUSTED
from tests.qr import qr_texts
from youcard import credentials
from youcard.documents import printing

_decode = qr_texts


def _card(credential: str = GENUINE, **kw) -> printing.PrintedCard:
    args = dict(
        issuer_name="Stadt Hamm",
        given_name="Elif",
        family_name="Yılmaz",
        valid_until=date(2027, 8, 31),
        credential=credential,
        card_number="0011 2233",
    )
    args.update(kw)
    return printing.PrintedCard(**args)


def test_qr_png_reads_back_and_verifies():
    png = printing.qr_png(GENUINE)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (57 * 8, 57 * 8)  # version 8: 49 modules + 2 × 4 quiet zone
    (text,) = _decode(image)
    assert text == GENUINE
    assert credentials.verify(text, trusted=TRUSTED, now=NOW).valid


def test_qr_is_version_8_alphanumeric_with_error_correction_m():
    assert printing.qr_version(GENUINE) == 8
    image = Image.open(io.BytesIO(printing.qr_png(GENUINE)))
    (result,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert result.symbology_identifier == "]Q1"  # QR Model 2
    assert result.ec_level == "M"


def test_the_largest_card_still_fits_version_8():
    key = Ed25519PrivateKey.generate()
    claims = credentials.Claims("DE-NW-HAMMXY", 1767225600, 4102444800, bytes(16), (1, 2, 3, 4), 23)
    assert printing.qr_version(credentials.encode(claims, key)) <= 8


def test_a_text_too_large_for_version_8_is_refused():
    with pytest.raises(printing.QRTooLarge):
        printing.qr_matrix("YC1:" + "A" * 400)


def test_qr_svg_has_the_modules_of_the_matrix():
    svg = printing.qr_svg(GENUINE)
    root = ET.fromstring(svg)  # noqa: S314 - our own SVG, not untrusted input
    assert root.get("viewBox") == "0 0 57 57"
    path = root.find("{http://www.w3.org/2000/svg}path").get("d")
    dark = sum(sum(row) for row in printing.qr_matrix(GENUINE))
    widths = [int(w) for w in re.findall(r"h(\d+)v1", path)]
    assert sum(widths) == dark


def _pages(pdf: bytes, dpi: int = 300) -> list[Image.Image]:
    document = pypdfium2.PdfDocument(pdf)
    return [document[i].render(scale=dpi / 72).to_pil() for i in range(len(document))]


def test_card_pdf_is_id1_and_its_qr_reads_back_and_verifies():
    pdf = printing.card_pdf(_card())
    document = pypdfium2.PdfDocument(pdf)
    width_pt, height_pt = document[0].get_size()
    assert (round(width_pt / 72 * 25.4, 1), round(height_pt / 72 * 25.4, 1)) == (85.6, 54.0)
    front, back = _pages(pdf)
    (text,) = _decode(front)
    assert credentials.verify(text, trusted=TRUSTED, now=NOW).valid
    assert _decode(back) == []
    words = document[1].get_textpage().get_text_range()
    assert "Karte verloren?" in words and "Card lost?" in words
    assert "Yılmaz" in document[0].get_textpage().get_text_range()


def test_a_card_still_reads_at_a_cheap_printers_150_dpi():
    (front, _) = _pages(printing.card_pdf(_card()), dpi=150)
    assert _decode(front) == [GENUINE]


def test_a4_sheet_holds_ten_cards_per_page_every_one_readable():
    key = Ed25519PrivateKey.generate()
    texts = [
        credentials.encode(credentials.Claims("DE-NW-HAMM", 1, 2, bytes([i] * 16), (1,), 1), key)
        for i in range(12)
    ]
    pages = _pages(
        printing.sheet_pdf([_card(t, given_name=f"Kind {i}") for i, t in enumerate(texts)]), 200
    )
    assert len(pages) == 4  # fronts and backs for 10, then for 2
    assert sorted(_decode(pages[0]) + _decode(pages[2])) == sorted(texts)
    assert _decode(pages[1]) == [] and _decode(pages[3]) == []


def test_an_arabic_name_on_the_card_is_shaped_right_to_left():
    """#27.3: every right-to-left run is shaped where it appears (youcard.documents.pdf_text)."""
    pdf = printing.card_pdf(_card(given_name="مريم", family_name="حداد"))
    page = pypdfium2.PdfDocument(io.BytesIO(pdf))[0]
    text = page.get_textpage()
    boxes = {}
    for i in range(text.count_chars()):
        letter = text.get_text_range(i, 1)
        if letter in "حداد":
            boxes.setdefault(letter, []).append(text.get_charbox(i)[0])
    assert max(boxes["ح"]) > max(boxes["ا"]) > min(boxes["د"])  # read from the right
    assert printing.card_pdf(_card(given_name="Ayşe", family_name="Yılmaz"))  # unshaped


def test_the_cards_back_names_where_it_is_taken():
    """The directory's address on the back, in the width of the card."""
    directory = "https://youcard.hamm.example/directory"
    document = pypdfium2.PdfDocument(printing.card_pdf(_card(directory=directory)))
    words = document[1].get_textpage().get_text_range()
    assert f"Wo sie gilt / where: {directory}" in words
    plain = pypdfium2.PdfDocument(printing.card_pdf(_card()))
    assert "Stadt Hamm · Karte 0011 2233" in plain[1].get_textpage().get_text_range()
