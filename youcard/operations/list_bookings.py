"""List bookings (docs/partner-api.md "Standing authorizations"): a canteen's or a tutor's list of
lines `reference;service_date;units;amount_cents;line_id`, each booked against the partner's
active mandate with that reference, as an ordinary booking with the key `line:<line_id>`:
the same list again books nothing new. Each line gets its own result; a refused line
affects no other."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from youcard.clock import DateOutOfRange, checked_date, parse_day
from youcard.db import Session
from youcard.documents.spreadsheets import csv_lines, csv_text
from youcard.domain.models import Card, Mandate
from youcard.errors import DomainError, InvalidRequest
from youcard.operations.booking import MAX_REFERENCE_LENGTH, Standing, book_standing_many
from youcard.policy import Counter

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
    result per line, in order; the bookings in one batch (`book_standing_many`). No savepoint
    per line: a refused booking writes nothing."""
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
    results: list[LineResult | None] = []
    asked: list[tuple[int, ListLine, Standing]] = []
    for line in lines:
        found = mandates.get(line.reference, [])
        if not found:
            results.append(
                _refused(
                    line, "unknown_reference", "You have no active mandate with this reference."
                )
            )
            continue
        if len(found) > 1:
            results.append(
                _refused(
                    line, "ambiguous_reference", "Several of your mandates have this reference."
                )
            )
            continue
        mandate, serial = found[0]
        if line.service_date < mandate.valid_from or (
            mandate.valid_until is not None and line.service_date > mandate.valid_until
        ):
            results.append(
                _refused(line, "outside_mandate", "The service date lies outside the mandate.")
            )
            continue
        asked.append(
            (
                len(results),
                line,
                Standing(
                    by=by,
                    card_serial=serial,
                    card_issuer_id=mandate.issuer_id,
                    category=mandate.category,
                    amount_cents=line.amount_cents,
                    units=line.units,
                    idempotency_key=f"line:{line.line_id}",
                    service_date=line.service_date,
                    reference=mandate.reference,
                ),
            )
        )
        results.append(None)
    booked = book_standing_many(session, [standing for _, _, standing in asked], now=now)
    for (at, line, _), result in zip(asked, booked, strict=True):
        if isinstance(result, DomainError):
            results[at] = _refused(line, result.code, result.message)
        else:
            results[at] = LineResult(
                line.line_id,
                "booked",
                replayed=result.replayed,
                booking_id=result.booking.id,
                available_cents_after=result.available.cents,
            )
    return [result for result in results if result is not None]


LIST_MAX_BYTES = 2 * 1024 * 1024  # 5,000 lines are about 300 KB
COLUMNS = ("reference", "service_date", "units", "amount_cents", "line_id")
_LINE_ID = re.compile(r"[\x21-\x7e]{1,100}")
_GERMAN_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _day(text: str) -> date:
    german = _GERMAN_DAY.fullmatch(text)
    if german:
        day, month, year = (int(g) for g in german.groups())
        return checked_date(date(year, month, day))
    return parse_day(text)


def read_list(data: bytes) -> list[ListLine | LineResult]:
    """The partner's list as CSV (UTF-8, with or without BOM, `;` or `,`, a header with
    COLUMNS): each line read, or refused with why (`invalid_line`); InvalidRequest for a
    file that is no such list at all."""
    if len(data) > LIST_MAX_BYTES:
        raise InvalidRequest("The list is larger than 2 MB.", code="list_too_large")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest(
            "The list is not UTF-8: save it as 'CSV UTF-8'.", code="not_utf8"
        ) from None
    if "\x00" in text or not text.strip():
        raise InvalidRequest("The list is empty or not a text file.", code="list_empty")
    first = text[: text.find("\n")] if "\n" in text else text
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=";" if first.count(";") >= first.count(",") else ",",
    )
    try:
        header = [cell.strip().lower() for cell in next(reader)]
        if sorted(header) != sorted(COLUMNS):
            raise InvalidRequest(
                f"The header must name the columns {';'.join(COLUMNS)}.", code="bad_header"
            )
        items: list[ListLine | LineResult] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(items) >= MAX_LINES:
                raise InvalidRequest(
                    f"A list has at most {MAX_LINES:,} lines.", code="too_many_lines"
                )
            items.append(_list_line(dict(zip(header, (c.strip() for c in row), strict=False))))
    except csv.Error as error:
        raise InvalidRequest(f"The list cannot be read: {error}.", code="bad_line") from None
    if not items:
        raise InvalidRequest("The list has a header but no lines.", code="list_empty")
    return items


def _list_line(cells: dict[str, str]) -> ListLine | LineResult:
    line_id = cells.get("line_id", "")
    if not _LINE_ID.fullmatch(line_id):
        detail = "line_id: 1 to 100 printable characters without spaces."
        return LineResult(line_id[:100], "refused", code="invalid_line", detail=detail)
    try:
        reference = cells.get("reference", "")
        if not 0 < len(reference) <= MAX_REFERENCE_LENGTH or not reference.isprintable():
            raise ValueError("reference: 1 to 140 printable characters")
        service_date = _day(cells.get("service_date", ""))
        amount = cells.get("amount_cents", "")
        if not amount.isdigit() or not 0 < int(amount) <= 10_000_000:
            raise ValueError("amount_cents: a whole number of cents above zero")
        units_text = cells.get("units", "")
        if units_text and (not units_text.isdigit() or not 0 < int(units_text) <= 1000):
            raise ValueError("units: a whole number from 1")
    except (ValueError, DateOutOfRange) as error:
        return LineResult(line_id, "refused", code="invalid_line", detail=str(error))
    return ListLine(
        line_id, reference, service_date, int(amount), int(units_text) if units_text else None
    )


RESULT_COLUMNS = ("line_id", "status", "booking_id", "code", "detail")


def book_read_list(
    session: Session, *, by: Counter, items: Sequence[ListLine | LineResult], now: datetime
) -> list[LineResult]:
    """`book_list` for a list as read (`read_list`): the lines that could not be read keep
    their refusal, in the file's order."""
    booked = iter(
        book_list(session, by=by, lines=[i for i in items if isinstance(i, ListLine)], now=now)
    )
    return [next(booked) if isinstance(item, ListLine) else item for item in items]


def result_csv(results: Sequence[LineResult]) -> Iterator[str]:
    """The results as semicolon CSV, a line each (formula-safe)."""
    rows = (
        [csv_text(r.line_id), r.status, r.booking_id or "", r.code or "", csv_text(r.detail or "")]
        for r in results
    )
    return csv_lines([RESULT_COLUMNS, *rows])
