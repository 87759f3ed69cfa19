"""List bookings (DESIGN.md "Standing authorizations"): a canteen's or a tutor's list of
lines `reference;service_date;units;amount_cents;line_id`, each booked against the partner's
active mandate with that reference, as an ordinary booking with the key `line:<line_id>`:
the same list again books nothing new. Each line gets its own result; a refused line
affects no other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from youcard.counter import Counter
from youcard.db import Session
from youcard.errors import DomainError
from youcard.models import Card, Mandate
from youcard.operations.bookings import book_standing

MAX_LINES = 5_000
MAX_LINE_ID = 100  # characters: the key `line:<line_id>` stays within 200


@dataclass(frozen=True)
class ListLine:
    """One line of a list: whose (the partner's reference), when, how much."""

    line_id: str
    reference: str
    service_date: date
    amount_cents: int
    units: int | None = None


@dataclass(frozen=True)
class LineResult:
    """What became of a line: booked (or booked before: `replayed`), or refused with a code."""

    line_id: str
    status: str  # booked | refused
    replayed: bool = False
    booking_id: int | None = None
    code: str | None = None
    detail: str | None = None
    available_cents_after: int | None = None


def _refused(line: ListLine, code: str, detail: str) -> LineResult:
    return LineResult(line.line_id, "refused", code=code, detail=detail)


def book_list(
    session: Session, *, by: Counter, lines: Sequence[ListLine], now: datetime
) -> list[LineResult]:
    """Book every line against the partner's own active mandate with its reference; one
    result per line, in order. No savepoint per line: a refused booking writes nothing."""
    references = sorted({line.reference for line in lines})
    mandates: dict[str, list[tuple[Mandate, bytes]]] = {}
    for start in range(0, len(references), 1_000):
        for mandate, serial in session.execute(
            select(Mandate, Card.serial)
            .join(Card, Card.id == Mandate.card_id)
            .where(
                Mandate.partner_id == by.partner_id,
                Mandate.status == "active",
                Mandate.reference.in_(references[start : start + 1_000]),
            )
        ):
            mandates.setdefault(mandate.reference, []).append((mandate, serial))
    results = []
    for line in lines:
        found = mandates.get(line.reference, [])
        if not found:
            results.append(_refused(line, "unknown_reference",
                                    "You have no active mandate with this reference."))  # fmt: skip
            continue
        if len(found) > 1:
            results.append(_refused(line, "ambiguous_reference",
                                    "Several of your mandates have this reference."))  # fmt: skip
            continue
        mandate, serial = found[0]
        if line.service_date < mandate.valid_from or (
            mandate.valid_until is not None and line.service_date > mandate.valid_until
        ):
            results.append(_refused(line, "outside_mandate",
                                    "The service date lies outside the mandate."))  # fmt: skip
            continue
        try:
            booked = book_standing(
                session, partner_id=by.partner_id, card_serial=serial,
                card_issuer_id=mandate.issuer_id, category=mandate.category,
                amount_cents=line.amount_cents, units=line.units,
                idempotency_key=f"line:{line.line_id}", service_date=line.service_date,
                reference=mandate.reference, now=now, actor=by.actor,
            )  # fmt: skip
        except DomainError as refusal:
            results.append(_refused(line, refusal.code, refusal.message))
            continue
        results.append(
            LineResult(
                line.line_id,
                "booked",
                replayed=booked.replayed,
                booking_id=booked.booking.id,
                available_cents_after=booked.available.cents,
            )
        )
    return results
