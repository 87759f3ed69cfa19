"""Names as people type them: "yilmaz" and "YILMAZ" find Yılmaz, "Mueller" and "Muller"
find Müller, "strasse" finds Straße, "Ozturk" finds Öztürk.

Both the stored search key and the typed text are folded the same way: lower case, the
Turkish dotless ı and dotted İ as i, ß as ss, accents and umlaut dots dropped, and the
German spellings ae/oe/ue read as a/o/u.
"""

from __future__ import annotations

import unicodedata

_SPECIAL = str.maketrans({"ı": "i", "İ": "i", "ß": "ss", "ẞ": "ss", "æ": "a", "ø": "o"})


def fold(text: str) -> str:
    """The search form of `text`."""
    if text.isascii():  # most names: nothing to decompose (an import folds 100,000 of them)
        text = text.lower()
    else:
        text = text.translate(_SPECIAL).lower()
        text = "".join(
            ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
        )
    for spelled, plain in (("ae", "a"), ("oe", "o"), ("ue", "u")):
        text = text.replace(spelled, plain)
    return " ".join(text.split())
