"""The booking: one public entry. `book` (a card shown at a counter), `book_standing_many`
(instalments under mandates) and `cancel_booking`; inside, the steps every booking takes:
inputs (validated), context (one read), rules (the decision), write (one atomic write),
records (what is answered). Other modules import this package, never its steps: what they
need of them (the same checks for a mandate, the same predicates for a counter's reads) is
named here."""

from youcard.operations.booking.book import Standing, book, book_standing_many, shown_card
from youcard.operations.booking.cancel import cancel_booking
from youcard.operations.booking.context import device_is_live, may_book, read_context
from youcard.operations.booking.inputs import MAX_REFERENCE_LENGTH, is_int
from youcard.operations.booking.offline import NotCovered, book_offline
from youcard.operations.booking.records import (
    BookingRecord,
    BookingResult,
    CancellationResult,
)
from youcard.operations.booking.rules import usable

__all__ = [
    "MAX_REFERENCE_LENGTH",
    "BookingRecord",
    "BookingResult",
    "CancellationResult",
    "NotCovered",
    "Standing",
    "book",
    "book_offline",
    "book_standing_many",
    "cancel_booking",
    "device_is_live",
    "is_int",
    "may_book",
    "read_context",
    "shown_card",
    "usable",
]
