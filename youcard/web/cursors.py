"""Cursors of the APIs' paged lists (partner bookings, staff lists): an opaque text that
stands for the last id (or line number) of a page; the next page starts after it."""

from __future__ import annotations

import base64
import binascii

from youcard.db import MAX_ID
from youcard.errors import InvalidRequest


def encode_cursor(position: int) -> str:
    """The cursor of the page after `position`."""
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position a cursor stands for; InvalidRequest (`invalid_cursor`) for any other text."""
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        value = 0
    if not 0 < value <= MAX_ID:
        raise InvalidRequest(
            "The cursor is not valid: pass next_cursor of the page before, unchanged.",
            code="invalid_cursor",
        )
    return value


MAX_TEXT = 200  # characters of a text position (a reference number)


def encode_text_cursor(position: str) -> str:
    """The cursor of the page after a text position (lists ordered by a reference)."""
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_text_cursor(cursor: str) -> str:
    """The text position a cursor stands for; InvalidRequest for anything else."""
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        value = ""
    if not 0 < len(value) <= MAX_TEXT or not value.isprintable():
        raise InvalidRequest(
            "The cursor is not valid: pass next_cursor of the page before, unchanged.",
            code="invalid_cursor",
        )
    return value
