"""A booking request's values, checked before anything is read, and its fingerprint (the
same idempotency key with another request is refused).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from youcard.db import MAX_ID as MAX_ID  # ids are BIGINT: one bound for every id
from youcard.domain.enums import Category
from youcard.errors import (
    CredentialInvalid,
    InvalidRequest,
)

MAX_AMOUNT_CENTS = 10_000_000  # 100,000 EUR: far above any benefit, far below integer limits
MAX_UNITS = 1000
MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_REFERENCE_LENGTH = 140
SERIAL_BYTES = 16


def is_int(value: object) -> bool:
    """An int and not a bool."""
    return type(value) is int


def validate(
    *,
    card_serial: object,
    category: object,
    amount_cents: object,
    units: object,
    idempotency_key: object,
    reference: object,
    service_date: object,
) -> tuple[Category, str | None]:
    """The category and the cleaned reference, or InvalidRequest with the field's code."""
    if not isinstance(card_serial, bytes) or len(card_serial) != SERIAL_BYTES:
        raise CredentialInvalid("This is not a card serial.", reason="malformed")
    try:
        category = Category(category if isinstance(category, str) else "")
    except ValueError:
        raise InvalidRequest("Unknown category.", code="invalid_category") from None
    if not is_int(amount_cents) or not 0 < amount_cents <= MAX_AMOUNT_CENTS:  # type: ignore[operator]
        raise InvalidRequest(
            "The amount must be a whole number of cents above zero.", code="invalid_amount"
        )
    if units is not None and (not is_int(units) or not 0 < units <= MAX_UNITS):  # type: ignore[operator]
        raise InvalidRequest("Units must be a whole number above zero.", code="invalid_units")
    if (
        not isinstance(idempotency_key, str)
        or not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH
        or not idempotency_key.isascii()
        or not idempotency_key.isprintable()
    ):
        raise InvalidRequest(
            "The idempotency key must be 1 to 200 printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    if service_date is not None and (
        not isinstance(service_date, date) or isinstance(service_date, datetime)
    ):
        raise InvalidRequest("The service date must be a date.", code="invalid_service_date")
    if reference is not None:
        if not isinstance(reference, str):
            raise InvalidRequest("The reference must be text.", code="invalid_reference")
        reference = reference.strip() or None
        if reference is not None and (
            len(reference) > MAX_REFERENCE_LENGTH or not reference.isprintable()
        ):
            raise InvalidRequest(
                "The reference must be at most 140 printable characters.", code="invalid_reference"
            )
    return category, reference


def request_fingerprint(
    *,
    card_serial: bytes,
    category: Category,
    amount_cents: int,
    units: int | None,
    service_date: date | None,
    reference: str | None,
) -> bytes:
    """SHA-256 of the request's meaning: the same key with another body is refused."""
    canonical = json.dumps(
        [
            card_serial.hex(),
            category.value,
            amount_cents,
            units,
            service_date.isoformat() if service_date else None,
            reference,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).digest()
