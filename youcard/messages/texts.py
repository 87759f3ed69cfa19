"""What a message says, in the family's language (the family area's six), from gettext
catalogs (youcard/messages/translations, compiled by bin/translations). No benefit or child
detail stands in a subject; the body names what happened and where to ask, and ends with
the city office's details. An e-mail in another language than German has the German text
beside it."""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

from youcard.domain.contacts import OfficeDetails
from youcard.domain.languages import FAMILY_LANGUAGES

CATALOGS = Path(__file__).resolve().parent / "translations"
RIGHT_TO_LEFT = frozenset({"ar"})


def _(text: str) -> str:
    """Marks a text for the catalogs (pybabel extract); translated when rendered."""
    return text


SUBJECT = _("A message about your YouCard")
# event -> its body; %(name)s placeholders are filled from the message's facts
BODIES: dict[str, str] = {
    "card_blocked": _(
        "The card of %(child)s has been blocked. It can no longer be used. "
        "If you did not ask for this, or you need a new card, please contact the office."
    ),
    "mandate_started": _(
        "%(partner)s will book %(amount)s each month for %(child)s from the card's budget, "
        "starting %(start)s, until the standing authorization ends."
    ),
    "money_expiring": _(
        "%(left)s of %(child)s's budget can still be used until %(until)s. After that it "
        "expires. Partners near you are listed in your family area."
    ),
    "money_unused": _(
        "%(child)s has not used the money for clubs, music schools and culture for three "
        "months: %(left)s are ready. Partners near you are listed in your family area."
    ),
    "mandate_ended": _(
        "The standing authorization of %(partner)s for %(child)s has ended. Nothing more is "
        "booked for it."
    ),
}
GREETING = _("Hello,")
CONTACT = _("Questions? Your office:")
FAMILY_AREA = _("Your family area:")
GERMAN_BESIDE = _("In German:")
# An SMS names nothing (it shows on a locked phone): it sends the family to its area.
SMS_WITH_LINK = _(
    "YouCard: there is news about your card. Please look in your family area: %(link)s"
)
SMS_WITHOUT_LINK = _("YouCard: there is news about your card. Please ask your office.")
SMS_SEGMENTS = 2  # at most, in the family's language alone


@cache
def catalog(language: str) -> NullTranslations:
    """The translations of `language` (English is the catalogs' own language)."""
    if language == "en":
        return NullTranslations()
    return Translations.load(str(CATALOGS), [language], domain="messages")


@dataclass(frozen=True)
class Rendered:
    """A message ready for a channel."""

    subject: str
    text: str
    html: str


def _part(event: str, language: str, facts: dict[str, Any], office: OfficeDetails) -> list[str]:
    gettext = catalog(language).gettext
    lines = [gettext(GREETING), "", gettext(BODIES[event]) % facts, ""]
    contact = [
        office.name,
        office.street,
        " ".join(filter(None, (office.postal_code, office.city))),
    ]
    contact += [office.phone, office.email, office.hours]
    lines += [gettext(CONTACT), *[line for line in contact if line]]
    if office.family_url:
        lines += ["", gettext(FAMILY_AREA), office.family_url]
    return lines


def render_sms(language: str, office: OfficeDetails) -> str:
    """The SMS of any event, in the family's language alone."""
    gettext = catalog(language if language in FAMILY_LANGUAGES else "de").gettext
    if office.family_url:
        return gettext(SMS_WITH_LINK) % {"link": office.family_url}
    return gettext(SMS_WITHOUT_LINK)


def sms_segments(text: str) -> int:
    """How many SMS `text` takes: 153 characters a part in the GSM alphabet, 67 otherwise
    (any other letter makes the whole message UCS-2)."""
    gsm = set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    single, part = (160, 153) if set(text) <= gsm else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // part)


def render(event: str, language: str, facts: dict[str, Any], office: OfficeDetails) -> Rendered:
    """The message of `event` with its `facts`, in `language` (German beside another)."""
    if language not in FAMILY_LANGUAGES:
        language = "de"
    parts = [(language, _part(event, language, facts, office))]
    subject = catalog(language).gettext(SUBJECT)
    if language != "de":
        german = _part(event, "de", facts, office)
        parts.append(("de", [catalog(language).gettext(GERMAN_BESIDE), "", *german]))
        subject = f"{subject} / {catalog('de').gettext(SUBJECT)}"
    text = "\n\n-----\n\n".join("\n".join(lines) for _, lines in parts) + "\n"
    blocks = []
    for lang, lines in parts:
        direction = "rtl" if lang in RIGHT_TO_LEFT else "ltr"
        paragraphs = "".join(f"<p>{html.escape(line)}</p>" if line else "" for line in lines)
        blocks.append(f'<div lang="{lang}" dir="{direction}">{paragraphs}</div>')
    page = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head><body>{'<hr>'.join(blocks)}</body></html>"
    )
    return Rendered(subject=subject, text=text, html=page)
