"""What the scanner page says when a card or a booking is refused, and money as people
type and read it."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import format_currency
from flask_babel import lazy_gettext as _l

# Why a card cannot be used, in plain words (the credential's reason codes).
CARD_REASONS = {
    "revoked": _l("Card blocked"),
    "expired": _l("Card expired"),
    "malformed": _l("Not a YouCard code"),
    "bad_signature": _l("Card not genuine"),
    "unknown_key": _l("Card not genuine"),
    "unknown_issuer": _l("Card from an unknown city"),
}
# Why a booking made offline is not covered, and what to do (docs/offline.md).
OFFLINE_REASONS = {
    "insufficient_budget": _l(
        "Not covered: the budget had been spent meanwhile. Ask the family, or call the "
        "city's office."
    ),
    "revoked": _l(
        "Not covered: the card had been blocked before. Ask the family for its new card."
    ),
    "above_allowance": _l(
        "Not covered: more than the city allows offline on one card and day. Book the rest online."
    ),
    "outside_allowance": _l("Not covered: this scanner's offline lists or clock were out of date."),
    "not_covered": _l("Not covered: the child had no benefit for this on that day."),
}
REFUSALS = {
    "insufficient_budget": _l("Not enough left for this amount."),
    "category_not_permitted": _l("You may not book this category."),
    "daily_limit_reached": _l("The child already had what is allowed on that day."),
    "entitlement_inactive": _l("This benefit is not approved (any more)."),
    "outside_period": _l("This benefit is not valid on that day."),
    "no_entitlement": _l("The child has no benefit in this category."),
    "units_required": _l("Please enter the number of units."),
    "unit_cap_exceeded": _l("The amount is above what one unit may cost."),
    "invalid_units": _l("Please enter a whole number of units."),
    "invalid_amount": _l("Please enter an amount in euros, e.g. 15,00."),
    "invalid_reference": _l("The note is too long."),
    "invalid_category": _l("Please choose a category."),
    "partner_inactive": _l("Your organisation may not book at present."),
    "booking_not_found": _l("There is no such booking."),
    "idempotency_key_reused": _l("Please scan the card again."),
    "invalid_day": _l("Please enter a day of the month from 1 to 31."),
    "invalid_period": _l("Please check the dates."),
    "mandate_exists": _l("This child already has a standing authorization with this number."),
    "instalment_not_for_units": _l(
        "Lunch and tutoring are booked by list, without a monthly amount."
    ),
    "unknown_reference": _l("No standing authorization has this number."),
    "ambiguous_reference": _l("Several standing authorizations have this number."),
    "outside_mandate": _l("The day lies outside the standing authorization."),
    "invalid_line": _l("This line cannot be read."),
    "credential_invalid": _l("This card cannot be used."),
    "service_date_in_future": _l("The day lies in the future."),
    # the partner's own profile
    "field_too_long": _l("A field is too long."),
    "field_required": _l("A required field is empty."),
    "invalid_name": _l(
        "A name may not hold invisible control or text-direction characters, nor begin with "
        "= + - or @."
    ),
    "invalid_characters": _l(
        "A text holds an invisible control or text-direction character, or begins with = + - or @."
    ),
    "invalid_text": _l("Please write it on one line."),
    "invalid_postal_code": _l("A German postal code has five digits."),
    "invalid_phone": _l("A phone number has digits, spaces and + ( ) / - only."),
    "invalid_email": _l("This e-mail address is not valid."),
    "invalid_iban": _l("This IBAN is not valid: please check it."),
    "offer_required": _l("An offer needs its description and its price."),
    "listing_incomplete": _l(
        "The directory lists you with your address (street and place) and at least one offer."
    ),
    "not_staff": _l("Only your organisation's staff change its profile."),
}
_EUROS = re.compile(r"(\d{1,6})(?:[.,](\d{1,2}))?")


def euro(cents: int | None) -> str:
    """An amount of money in the page's language."""
    return "—" if cents is None else str(format_currency(Decimal(cents) / 100, "EUR"))


def parse_euros(text: str) -> int | None:
    """Cents from "15", "15,5", "15,50" or "15.50"; None for anything else."""
    match = _EUROS.fullmatch(text.strip().replace("€", "").strip())
    if match is None:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
