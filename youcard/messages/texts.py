"""What a message says, in the family's language (the family area's six), from gettext
catalogs (youcard/messages/translations, compiled by bin/translations). No benefit or child
detail stands in a subject; the body names what happened and where to ask, and ends with
the city office's details. An e-mail in another language than German has the German text
beside it; a partner's is German with English beside it."""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

from youcard.domain.contacts import OfficeDetails
from youcard.domain.languages import FAMILY_LANGUAGES, RIGHT_TO_LEFT, left_to_right, money

CATALOGS = Path(__file__).resolve().parent / "translations"


def _(text: str) -> str:
    """Marks a text for the catalogs (pybabel extract); translated when rendered."""
    return text


SUBJECT = _("A message about your YouCard")
PARTNER_SUBJECT = _("A message from the YouCard office")
PARTNER_LANGUAGE = "de"  # with English beside it
# event -> its body; %(name)s placeholders are filled from the message's facts
BODIES: dict[str, str] = {
    "benefit_approved": _(
        "A benefit for %(child)s has been approved: %(category)s, from %(start)s to %(until)s. "
        "Partners book it from the child's card."
    ),
    "booking_refused": _(
        "%(partner)s could not book from the card of %(child)s (%(category)s): %(reason)s"
    ),
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
    # to partners
    "credit_note_ready": _(
        "Your credit note %(number)s for %(month)s is ready: %(amount)s are transferred to "
        "your account ending in %(iban_end)s. The credit note is attached; it is also on the "
        "scanner pages under Credit notes."
    ),
    "instalment_refused": _(
        "The monthly booking of %(amount)s for %(month)s under your standing authorization "
        "%(reference)s could not be made: %(reason)s"
    ),
    "bank_details_asked": _(
        "New bank details were asked for %(partner)s (account ending in %(iban_end)s). "
        "They are used once a second person at the office has confirmed them. If you did not "
        "ask for this, please call the office at once."
    ),
    "bank_details_changed": _(
        "The bank details of %(partner)s were changed: from now on money goes to the account "
        "ending in %(iban_end)s. If you did not ask for this, please call the office at once."
    ),
    "contact_changed": _(
        "The e-mail address for messages to %(partner)s was changed from %(old)s to %(new)s. "
        "If you did not ask for this, please call the office at once."
    ),
    # to applicants
    "partner_welcome": _(
        "The office has approved %(partner)s as a YouCard partner. Your first login for the "
        "scanner page is %(username)s."
    ),
    "application_refused": _(
        "The office could not approve the application of %(partner)s as a YouCard partner. "
        "The reason: %(reason_text)s"
    ),
}
PARTNER_EVENTS = frozenset(
    {
        "credit_note_ready",
        "instalment_refused",
        "bank_details_asked",
        "bank_details_changed",
        "contact_changed",
        "partner_welcome",
        "application_refused",
    }
)
# A message about a child's approval: the access code, when it carries one (a household's
# first code, made with the message); else where the family has its code from.
WITH_CODE = _(
    "Your access code for the family area: %(code)s. You sign in with it and a child's date of "
    "birth. Keep it safe; if you lose it, the office makes you a new one."
)
PASSWORD = _("Your one-time password: %(code)s. Please keep it safe.")
NO_PASSWORD = _("If you do not have the password for it, the office makes you a new one.")
WITHOUT_CODE = _(
    "You sign in to the family area with the access code from our letter or an earlier message."
)
# Words a message's facts name by code (translated when written)
CATEGORIES = {
    "participation": _("clubs, music and culture"),
    "lunch": _("lunch"),
    "tutoring": _("tutoring"),
    "trips": _("trips"),
}
REASONS = {
    "insufficient_budget": _("not enough is left for this."),
    "no_entitlement": _("there is no approved benefit for this."),
    "outside_period": _("the benefit does not cover this day."),
    "entitlement_inactive": _("the benefit has ended."),
    "daily_limit_reached": _("the limit for that day has been reached."),
    "expired": _("the card has expired."),
    "revoked": _("the card is blocked."),
}
REASON_OTHER = _("the booking was not allowed.")
GREETING = _("Hello,")
CONTACT = _("Questions? Your office:")
FAMILY_AREA = _("Your family area:")
DIRECTORY = _("Where the card is taken:")
# The reminders point to the directory of partners (the family area's site, /directory)
POINTS_TO_DIRECTORY = frozenset({"money_expiring", "money_unused"})
GERMAN_BESIDE = _("In German:")
# An SMS names nothing (it shows on a locked phone): it sends the family to its area.
SMS_WITH_LINK = _(
    "YouCard: there is news about your card. Please look in your family area: %(link)s"
)
SMS_WITHOUT_LINK = _("YouCard: there is news about your card. Please ask your office.")
SMS_CODE = _("Your access code: %(code)s")
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
    attachments: tuple[tuple[str, bytes], ...] = ()  # (file name, PDF)


# Facts written left to right inside a right-to-left sentence (dates, numbers, codes)
_LEFT_TO_RIGHT = ("start", "until", "month", "number", "iban_end", "code", "reference")


def _words(facts: dict[str, Any], gettext: Any, language: str) -> dict[str, Any]:
    """The facts in the message's language: amounts (`*_cents`) as its people write them,
    words named by code translated."""
    words = dict(facts)
    for key, value in facts.items():
        if key.endswith("_cents") and isinstance(value, int):
            words[key.removesuffix("_cents")] = money(value, language)
    for key in _LEFT_TO_RIGHT:
        if key in words:
            words[key] = left_to_right(str(words[key]), language)
    if "category" in facts:
        words["category"] = gettext(CATEGORIES[facts["category"]])
    if "reason" in facts:
        words["reason"] = gettext(REASONS.get(facts["reason"], REASON_OTHER))
    return words


def _part(
    event: str, language: str, facts: dict[str, Any], office: OfficeDetails, family: bool
) -> list[str]:
    gettext = catalog(language).gettext
    words = _words(facts, gettext, language)
    lines = [gettext(GREETING), "", gettext(BODIES[event]) % words, ""]
    if event == "benefit_approved":
        lines += [gettext(WITH_CODE) % words if "code" in facts else gettext(WITHOUT_CODE), ""]
    if event == "partner_welcome":
        lines += [gettext(PASSWORD) % words if "code" in facts else gettext(NO_PASSWORD), ""]
    contact = [
        office.name,
        office.street,
        " ".join(filter(None, (office.postal_code, office.city))),
    ]
    contact += [office.phone, office.email, office.hours]
    lines += [gettext(CONTACT), *[line for line in contact if line]]
    if family and office.family_url:
        lines += ["", gettext(FAMILY_AREA), office.family_url]
        if event in POINTS_TO_DIRECTORY:
            lines += ["", gettext(DIRECTORY), office.directory_url or ""]
    return lines


def render_sms(language: str, office: OfficeDetails, code: str | None = None) -> str:
    """The SMS of any event, in the family's language alone; with the access code an
    approval message carries (the code names no benefit and no child)."""
    gettext = catalog(language if language in FAMILY_LANGUAGES else "de").gettext
    if office.family_url:
        text = gettext(SMS_WITH_LINK) % {"link": office.family_url}
    else:
        text = gettext(SMS_WITHOUT_LINK)
    return text if code is None else f"{text} {gettext(SMS_CODE) % {'code': code}}"


def sms_segments(text: str) -> int:
    """How many SMS `text` takes: 153 characters a part in the GSM alphabet, 67 otherwise
    (any other letter makes the whole message UCS-2)."""
    gsm = set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    single, part = (160, 153) if set(text) <= gsm else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // part)


def render(
    event: str,
    language: str,
    facts: dict[str, Any],
    office: OfficeDetails,
    *,
    to_partner: bool = False,
) -> Rendered:
    """The message of `event` with its `facts`, in `language` (German beside another); to a
    partner, German with English beside it."""
    if language not in FAMILY_LANGUAGES:
        language = "de"
    beside = "en" if to_partner else "de"
    if to_partner:
        language = PARTNER_LANGUAGE
    parts = [(language, _part(event, language, facts, office, not to_partner))]
    title = PARTNER_SUBJECT if to_partner else SUBJECT
    subject = catalog(language).gettext(title)
    if language != beside:
        other = _part(event, beside, facts, office, not to_partner)
        label = "In English:" if beside == "en" else catalog(language).gettext(GERMAN_BESIDE)
        parts.append((beside, [label, "", *other]))
        subject = f"{subject} / {catalog(beside).gettext(title)}"
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
