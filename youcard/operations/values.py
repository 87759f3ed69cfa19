"""Checked values the setup operations share: required texts, passwords, IBANs.

The caller (a view or the CLI) checks who may call them and passes its identity as
`actor` for the audit log.
"""

from __future__ import annotations

from schwifty import IBAN

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


MIN_PASSWORD_LENGTH = 12


def password_hash_of(password: str) -> str:
    """The argon2id hash of a new password; InvalidRequest when it is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            "The password needs at least 12 characters.", code="password_too_short"
        )
    return security.hash_password(password)


def valid_iban(text: str) -> str:
    """The IBAN in compact form, checked (country format and check digits) by schwifty."""
    try:
        return str(IBAN(text).compact)
    except ValueError:
        raise InvalidRequest("This IBAN is not valid.", code="invalid_iban") from None
