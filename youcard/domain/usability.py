"""Whether a card may be used today and whether a partner may book: one predicate each,
asked by verify (`counter.check_card`), the booking (`booking_rules.usable`), mandates, list
bookings, the scanner page and the partner API's authentication. Pure: plain values in."""

from __future__ import annotations

from datetime import date
from typing import Literal

from youcard.domain.enums import CardStatus, PartnerStatus
from youcard.errors import DomainError, Forbidden, NotFound

CardRefusal = Literal["revoked", "expired"]  # verify's reasons, as partners read them


def card_refusal(
    *,
    status: CardStatus | None,
    issuer_id: str | None,
    valid_until: date | None,
    claimed_issuer: str,
    today: date,
    standing: bool = False,
) -> CardRefusal | None:
    """Why the card with these facts (None: no such card) cannot be used on `today`, or
    None. A card is usable when it is known, belongs to the issuer whose key signed it, is
    active and `today` is not after its validity. `standing`: under a mandate the card's
    own status and validity no longer matter (a lost card does not end a mandate), its
    issuer still does."""
    if status is None or issuer_id != claimed_issuer:
        return "revoked"  # unknown, or one issuer's key vouching for another's card
    if standing:
        return None
    if status is not CardStatus.ACTIVE:
        return "revoked"
    if valid_until is not None and today > valid_until:
        return "expired"
    return None


def partner_refusal(status: PartnerStatus | None) -> DomainError | None:
    """Why a partner with this status (None: no such partner) may not book, or None."""
    if status is None:
        return NotFound("No such partner.", code="partner_not_found")
    if status is not PartnerStatus.ACTIVE:
        return Forbidden("This partner may not book at present.", code="partner_inactive")
    return None


def partner_may_book(status: PartnerStatus | None) -> bool:
    """Whether a partner with this status may book (`partner_refusal` is None)."""
    return partner_refusal(status) is None
