"""Reading QR codes back in tests with a real decoder (zxing-cpp)."""

from __future__ import annotations

import zxingcpp
from PIL import Image

MODEL_2 = zxingcpp.BarcodeFormat.QRCodeModel2  # what youcard.documents.printing and the pages draw


def qr_texts(image: Image.Image) -> list[str]:
    """The texts of the QR codes in an image, each once, in the order zxing-cpp finds them.

    Only QR codes are looked for, and a text found twice counts once: on a browser's screenshot
    zxing-cpp may find one symbol both at full size and in a scaled-down copy of the image (a
    test of the family area's offline page failed in CI on exactly that), and with every format
    allowed a QR's module rows can pass for a linear code. And only QR Model 2, the symbol we
    print: zxing-cpp 3's `QRCode` is the whole family, Micro QR and rMQR too, and on a printed
    sheet of ten cards it once found a Micro QR reading "612" in one card's modules (CI,
    2026-12-06); light-on-dark symbols are not looked for either (we print none).
    """
    found = zxingcpp.read_barcodes(image, formats=MODEL_2, try_invert=False)
    return list(dict.fromkeys(result.text for result in found))
