"""Addresses, phone numbers, e-mail and language: of a household (where its letters and
messages go) and of the city's office (what families read on cards, letters and pages)."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from youcard import audit
from youcard.db import Session
from youcard.documents.pdf_text import unprintable
from youcard.domain.contacts import Contact, OfficeDetails
from youcard.domain.languages import FAMILY_LANGUAGES
from youcard.domain.models import Household, Issuer
from youcard.errors import InvalidRequest, NotFound
from youcard.policy import ADMINISTRATORS, Staff, require_role

PHONE = re.compile(r"\+?[0-9][0-9 ()/-]{3,38}")
POSTAL_CODE = re.compile(r"[0-9]{5}")  # a German postal code (Postleitzahl)


def _text(value: str | None, field: str, max_length: int, *, printed: bool = False) -> str | None:
    """Optional text: surrounding spaces dropped, empty is None, one line only; `printed`
    (it goes on letters and cards): only characters our documents can print."""
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > max_length:
        raise InvalidRequest(f"{field} is too long.", code="field_too_long", field=field)
    if any(not ch.isprintable() for ch in value):
        raise InvalidRequest(f"{field} must be one line.", code="invalid_text", field=field)
    missing = unprintable(value) if printed else []
    if missing:
        raise InvalidRequest(
            f"{field} holds {' '.join(missing[:5])}, which letters and cards cannot print.",
            code="not_printable",
            field=field,
            characters=missing[:5],
        )
    return value


def _pattern(value: str | None, field: str, pattern: re.Pattern[str]) -> str | None:
    value = _text(value, field, 200)
    if value is not None and not pattern.fullmatch(value):
        raise InvalidRequest(f"{field} is not valid.", code=f"invalid_{field}", field=field)
    return value


def postal_code(value: str | None, field: str = "postal_code") -> str | None:
    """A German postal code (five digits); empty is None."""
    return _pattern(value, field, POSTAL_CODE)


def phone_number(value: str | None, field: str = "phone") -> str | None:
    """A phone number as people write it (+, digits, spaces, ( ) / -); empty is None."""
    return _pattern(value, field, PHONE)


def email_address(value: str | None, field: str = "email") -> str | None:
    """An e-mail address as typed (syntax only), normalized; empty is None."""
    value = _text(value, field, 254)
    if value is None:
        return None
    try:  # syntax only: no DNS lookups from an office's network
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError:
        raise InvalidRequest(
            "This e-mail address is not valid.", code="invalid_email", field=field
        ) from None


def _web_address(value: str | None) -> str | None:
    value = _text(value, "family_url", 300)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username:
        raise InvalidRequest(
            "The web address must begin with https:// and name a host.",
            code="invalid_url",
            field="family_url",
        )
    return value


def checked_contact(contact: Contact) -> Contact:
    """The same contact, cleaned; InvalidRequest on the first value that is not valid."""
    if contact.language not in FAMILY_LANGUAGES:
        raise InvalidRequest(
            "This language is not offered.", code="unknown_language", field="language"
        )
    return Contact(
        street=_text(contact.street, "street", 200, printed=True),
        postal_code=postal_code(contact.postal_code),
        city=_text(contact.city, "city", 100, printed=True),
        email=email_address(contact.email),
        phone=phone_number(contact.phone),
        language=contact.language,
    )


def apply_contact(household: Household, contact: Contact) -> list[str]:
    """Set the household's contact (checked); the names of the fields that changed (the
    audit log names them, never their values). A new e-mail address or phone number is
    tried again (youcard.messages), even where the old one was undeliverable."""
    checked = checked_contact(contact)
    changed = []
    for field in fields(Contact):
        value = getattr(checked, field.name)
        if getattr(household, field.name) != value:
            setattr(household, field.name, value)
            changed.append(field.name)
    if "email" in changed:
        household.email_undeliverable_at = None
    if "phone" in changed:
        household.phone_undeliverable_at = None
    return changed


def checked_office(details: OfficeDetails) -> OfficeDetails:
    """The same details, cleaned; InvalidRequest on the first value that is not valid."""
    return OfficeDetails(
        name=_text(details.name, "name", 200, printed=True),
        street=_text(details.street, "street", 200, printed=True),
        postal_code=postal_code(details.postal_code),
        city=_text(details.city, "city", 100, printed=True),
        phone=phone_number(details.phone),
        email=email_address(details.email),
        hours=_text(details.hours, "hours", 300, printed=True),
        family_url=_web_address(details.family_url),
    )


def set_office_details(
    session: Session, *, by: Staff, details: OfficeDetails, now: datetime
) -> Issuer:
    """The principal's issuer's office details (administrators); audited by field name."""
    require_role(by, ADMINISTRATORS, "change the office's details")
    issuer = session.get(Issuer, by.issuer_id)
    if issuer is None:
        raise NotFound("No such issuer.", code="issuer_not_found")
    checked = checked_office(details)
    changed = []
    for field in fields(OfficeDetails):
        column = "family_url" if field.name == "family_url" else f"office_{field.name}"
        value = getattr(checked, field.name)
        if getattr(issuer, column) != value:
            setattr(issuer, column, value)
            changed.append(field.name)
    if changed:
        audit.record(
            session,
            issuer_id=issuer.id,
            actor=by.actor,
            action="issuer.office_details",
            object_type="issuer",
            object_id=issuer.id,
            now=now,
            data={"changed": changed},
        )
    return issuer
