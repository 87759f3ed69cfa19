"""Checked values the setup operations share: required texts, passwords, IBANs."""

from __future__ import annotations

from collections.abc import Sequence

from schwifty import IBAN
from zxcvbn import zxcvbn

from youcard import security
from youcard.errors import InvalidRequest


def clean_text(value: str, field: str, max_length: int) -> str:
    """`value` without surrounding spaces; InvalidRequest when empty or too long."""
    value = value.strip()
    if not value:
        raise InvalidRequest(f"{field} is required.", code="field_required", field=field)
    if len(value) > max_length:
        raise InvalidRequest(f"{field} is too long.", code="field_too_long", field=field)
    return value


# The password rule of every account (staff, partner staff), after NIST SP 800-63B: a
# minimum length and no password that is common or easy to guess; no composition rules.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
# zxcvbn's estimate (0-4) matches the password against the most common passwords (30,000),
# names, words, keyboard patterns, dates and the account's own name; 3 and up is "safely
# unguessable" against an online attack.
MIN_PASSWORD_SCORE = 3


def password_hash_of(password: str, *, context: Sequence[str] = ()) -> str:
    """The argon2id hash of a new password; InvalidRequest when it is too short, too long,
    common or easy to guess (`context`: the account's username and name, which it must not
    be built on)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            "The password needs at least 12 characters.", code="password_too_short"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidRequest("The password is too long.", code="password_too_long")
    words = [*context, "youcard", "passwort", "password", "kennwort"]
    if zxcvbn(password, user_inputs=[w for w in words if w])["score"] < MIN_PASSWORD_SCORE:
        raise InvalidRequest(
            "This password is among the most common ones or easy to guess.",
            code="password_too_common",
        )
    return security.hash_password(password)


def valid_iban(text: str) -> str:
    """The IBAN in compact form, checked (country format and check digits) by schwifty."""
    try:
        return str(IBAN(text).compact)
    except ValueError:
        raise InvalidRequest("This IBAN is not valid.", code="invalid_iban") from None
