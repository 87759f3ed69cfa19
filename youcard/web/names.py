"""The names people read for the categories, in every language of both services (one table:
the staff pages, the scanner, the family area and the letters use it)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from youcard.domain.enums import Category

CATEGORY_NAMES = {
    Category.PARTICIPATION: _l("Social and cultural participation"),
    Category.LUNCH: _l("School lunch"),
    Category.TUTORING: _l("Tutoring"),
    Category.TRIPS: _l("Trips and class trips"),
}


# What a message to a family was about (youcard.messages.texts.BODIES), and how it went
MESSAGE_EVENTS = {
    "benefit_approved": _l("Benefit approved"),
    "booking_refused": _l("Booking refused at the counter"),
    "card_blocked": _l("Card blocked"),
    "mandate_started": _l("Standing authorization started"),
    "mandate_ended": _l("Standing authorization ended"),
    "money_expiring": _l("Reminder: money expiring"),
    "money_unused": _l("Reminder: money unused"),
    "credit_note_ready": _l("Credit note ready"),
    "instalment_refused": _l("Monthly booking refused"),
    "bank_details_asked": _l("New bank details entered"),
    "bank_details_changed": _l("Bank details changed"),
    "contact_changed": _l("Contact address changed"),
}
MESSAGE_CHANNELS = {"email": _l("E-mail"), "sms": _l("SMS")}
MESSAGE_STATES = {
    "waiting": _l("waiting"),
    "sent": _l("sent"),
    "failed": _l("not delivered"),
}


def category_name(category: Category | str) -> str:
    """The category's name in the page's language."""
    return str(CATEGORY_NAMES[Category(category)])
