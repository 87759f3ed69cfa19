"""The languages: staff pages in German and English; the family area, letters and messages
also in the languages families in the city speak (right to left: Arabic)."""

from __future__ import annotations

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
