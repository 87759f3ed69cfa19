"""fpdf2 as every document of ours uses it (cards, letters, credit notes): the bundled DejaVu
fonts, and every right-to-left run shaped wherever it appears.

An Arabic-script name is not only in an Arabic letter: it stands in the German column, in
the address window the post office reads, on the card and in a partner's name. fpdf2 draws
text as stored (logical order, unjoined letters) unless HarfBuzz shapes it; shaping also
reorders the runs by the Unicode bidi algorithm. It costs fpdf2's line breaking about five
times the time, so it is switched on only for a text that holds a right-to-left letter (or
a paragraph set right to left) and off again for the next one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fpdf import FPDF

FONTS = Path(__file__).resolve().parent / "fonts"

# Hebrew, Arabic, Syriac, Thaana, NKo ... Arabic Extended; the presentation forms.
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def has_right_to_left(text: str) -> bool:
    """Whether `text` holds a letter of a right-to-left script."""
    return _RIGHT_TO_LEFT.search(text) is not None


@lru_cache(maxsize=1)
def _font_covers() -> frozenset[int]:
    from fontTools.ttLib import TTFont  # fpdf2's own dependency

    with TTFont(str(FONTS / "DejaVuSans.ttf"), lazy=True) as font:
        return frozenset(font.getBestCmap())


def unprintable(text: str) -> list[str]:
    """The characters of `text` our documents cannot print (the font has no glyph: an
    emoji, say, would vanish from a letter or a card), each once, in order."""
    covers = _font_covers()
    missing: list[str] = []
    for character in text:
        if ord(character) not in covers and not character.isspace() and character not in missing:
            missing.append(character)
    return missing


class ShapingPDF(FPDF):
    """An FPDF with the DejaVu fonts whose `cell` and `multi_cell` shape the text they are
    given when it needs it. `right_to_left` sets the paragraphs that follow right to left
    (an Arabic column); otherwise a paragraph runs left to right and its right-to-left runs
    (a name) are shaped and set right to left within it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_creator("YouCard")
        self.right_to_left = False
        self._shaping: str | None = None  # the direction shaping is on for, or None

    def _shape_for(self, text: object) -> None:
        wanted = None
        if self.right_to_left:
            wanted = "rtl"
        elif isinstance(text, str) and has_right_to_left(text):
            wanted = "ltr"
        if wanted != self._shaping:
            if wanted is None:
                self.set_text_shaping(False)
            else:
                self.set_text_shaping(use_shaping_engine=True, direction=wanted)
            self._shaping = wanted

    def cell(self, *args: Any, **kwargs: Any) -> Any:
        self._shape_for(kwargs.get("text", args[2] if len(args) > 2 else ""))
        return super().cell(*args, **kwargs)

    def multi_cell(self, *args: Any, **kwargs: Any) -> Any:
        self._shape_for(kwargs.get("text", args[2] if len(args) > 2 else ""))
        return super().multi_cell(*args, **kwargs)

    def fitted(self, text: str, width: float) -> str:
        """`text` cut with "…" so that it fits a cell `width` wide in the current font
        (a table's cells never run into each other)."""
        room = width - 2 * self.c_margin
        if self.get_string_width(text) <= room:
            return text
        while text and self.get_string_width(text + "…") > room:
            text = text[:-1]
        return text.rstrip() + "…"
