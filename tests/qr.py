"""Reading QR codes back in tests with a real decoder (zxing-cpp)."""

from __future__ import annotations

import zxingcpp
from PIL import Image


def qr_texts(image: Image.Image) -> list[str]:
    """The texts of the QR codes in an image, each once, in the order zxing-cpp finds them.

    Only QR codes are looked for, and a text found twice counts once: on a browser's screenshot
    zxing-cpp may find one symbol both at full size and in a scaled-down copy of the image (a
    test of the family area's offline page failed in CI on exactly that), and with every format
    allowed a QR's module rows can pass for a linear code.
    """
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return list(dict.fromkeys(result.text for result in found))
