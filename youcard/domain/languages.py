"""The languages: staff pages in German and English; the family area, letters and messages
also in the languages families in the city speak (right to left: Arabic)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency

STAFF_LANGUAGES = ("de", "en")
FAMILY_LANGUAGES = ("de", "en", "tr", "ar", "uk", "ru")
LANGUAGE_NAMES = {
    "de": "Deutsch",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "uk": "Українська",
    "ru": "Русский",
}
RIGHT_TO_LEFT = frozenset({"ar"})


def left_to_right(value: str, language: str) -> str:
    """`value` (a number, a date, a code, a web address) kept left to right inside a right-
    to-left sentence: left-to-right marks around it, so that the bidi algorithm does not
    reorder its groups ("02381 17-0" would read "17-0 02381")."""
    return f"\u200e{value}\u200e" if language in RIGHT_TO_LEFT else value


def money(cents: int, language: str) -> str:
    """An amount as people write it in `language` (15,00 € in German, €15.00 in English),
    kept left to right in a right-to-left text: the letters and the messages alike."""
    text = str(format_currency(Decimal(cents) / 100, "EUR", locale=language))
    return left_to_right(text, language)
