"""Reading the case-management system's approvals file (docs/imports.md "Import from the
case-management system"): UTF-8 CSV with or without BOM, `;` or `,`, quoted fields, CRLF,
German dates and decimal commas, stray spaces.

The file is refused whole (FileRefused) when it cannot be read as such a file at all:
empty, header only, unknown or missing columns, Windows-1252 (refused, not guessed: a
wrong guess would silently change names), NUL bytes, too large, too many columns, a
`decision_ref` twice. Otherwise every line is either an ApprovalLine or a LineRefusal with
the reason; nothing here touches the database.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from youcard.clock import DateOutOfRange, checked_date, parse_day
from youcard.domain.budget import BudgetRule
from youcard.domain.entitlement_rules import default_rule
from youcard.domain.enums import Accrual, Category, RuleKind
from youcard.errors import InvalidRequest
from youcard.operations.values import clean_name

MAX_BYTES = 64 * 1024 * 1024  # 100,000 lines are about 15 MB
MAX_FIELD = 200  # characters in one cell
MAX_REF = 60  # characters in decision_ref, case_ref, child_ref
CHUNK = 1_000  # lines checked and written at a time
REQUIRED = (
    "decision_ref",
    "case_ref",
    "child_ref",
    "family_name",
    "given_name",
    "birth_date",
    "category",
    "valid_from",
    "valid_until",
)
OPTIONAL = ("amount_eur", "units", "unit_cap_eur", "per_day", "legal_basis", "status")
LEGAL_BASES = ("SGB2", "SGB12", "BKGG", "AsylbLG", "WoGG")
STATUSES = ("approved", "ended")
_GERMAN_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_EURO = re.compile(r"\d{1,7}([.,]\d{1,2})?|\d{1,3}(\.\d{3})+(,\d{1,2})?")


class FileRefused(InvalidRequest):
    """The whole file is refused; nothing is read from it."""

    code = "file_refused"


@dataclass(frozen=True)
class ApprovalLine:
    """One line: a child's benefit as the case-management system decided it."""

    number: int  # the line in the file (the header is line 1)
    decision_ref: str
    case_ref: str
    child_ref: str
    family_name: str
    given_name: str
    birth_date: date
    category: Category
    valid_from: date
    valid_until: date
    rule: BudgetRule
    legal_basis: str | None
    status: str


@dataclass(frozen=True)
class LineRefusal:
    """A line that cannot be taken, and why (`code` for machines, `message` for people)."""

    number: int
    decision_ref: str
    code: str
    message: str


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def decode(data: bytes) -> str:
    """The file's text: UTF-8 with or without BOM; anything else is refused."""
    if len(data) > MAX_BYTES:
        raise FileRefused(
            f"The file is larger than {MAX_BYTES // 2**20} MB.", code="file_too_large"
        )
    if b"\x00" in data:
        raise FileRefused("The file contains NUL bytes: not a text file.", code="file_not_text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(
            "The file is not UTF-8 (it looks like Windows-1252, as Excel saves 'CSV'): save it "
            "as 'CSV UTF-8' and import it again.",
            code="not_utf8",
        ) from None
    if not text.strip():
        raise FileRefused("The file is empty.", code="file_empty")
    return text


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")


def _physical_lines(text: str) -> Iterator[str]:
    """The text's lines with their endings, one at a time (io.StringIO would copy a 15 MB
    file into four bytes a character; splitlines would hold every line at once). CR LF, LF
    and a lone CR all end a line, mixed in one file too (files pasted together from Windows,
    Unix and old Mac programs); a quoted field over several lines is rejoined by the reader."""
    for match in _LINE.finditer(text):
        if match.end() == match.start():
            return
        yield match.group()


def _rows(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    first = next(_physical_lines(text), "")
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(_physical_lines(text), delimiter=delimiter, strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error:
        raise FileRefused(
            "The header cannot be read as CSV: a quotation mark is not closed.",
            code="bad_header",
        ) from None
    if len(header) > len(REQUIRED) + len(OPTIONAL):
        raise FileRefused("The header has more columns than the format knows.", code="bad_header")
    unknown = sorted(set(header) - set(REQUIRED) - set(OPTIONAL))
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise FileRefused(
            "The header does not fit the format: "
            + "; ".join(
                part
                for part in (
                    f"unknown columns {', '.join(unknown)}" if unknown else "",
                    f"missing columns {', '.join(missing)}" if missing else "",
                    "a column twice" if len(set(header)) != len(header) else "",
                )
                if part
            )
            + ".",
            code="bad_header",
            missing=missing,
            unknown=unknown,
        )

    def lines() -> Iterator[tuple[int, list[str]]]:
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield reader.line_num, row
        except csv.Error:
            raise FileRefused(
                f"Line {reader.line_num} cannot be read as CSV: a quotation mark is not closed, "
                "or stands inside a field that does not start with one.",
                code="bad_line",
                line=reader.line_num,
            ) from None

    return header, lines()


def _day(text: str, field: str) -> date:
    text = text.strip()
    german = _GERMAN_DAY.fullmatch(text)
    try:
        if german:
            day, month, year = (int(g) for g in german.groups())
            return checked_date(date(year, month, day))
        return parse_day(text)
    except (ValueError, DateOutOfRange):
        raise _Refused("invalid_date", f"{field}: '{text}' is not a date.") from None


def _cents(text: str, field: str) -> int | None:
    text = text.strip().replace(" ", "").removesuffix("€").removesuffix("EUR")
    if not text:
        return None
    if not _EURO.fullmatch(text):
        raise _Refused("invalid_amount", f"{field}: '{text}' is not an amount in euros.")
    if "," in text:  # German: 1.234,56
        text = text.replace(".", "").replace(",", ".")
    try:
        cents = int((Decimal(text) * 100).to_integral_value())
    except InvalidOperation:
        raise _Refused("invalid_amount", f"{field}: '{text}' is not an amount.") from None
    if cents <= 0:
        raise _Refused("invalid_amount", f"{field}: the amount must be more than 0.")
    return cents


def _count(text: str, field: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 4 or int(text) == 0:
        raise _Refused("invalid_number", f"{field}: '{text}' is not a whole number from 1.")
    return int(text)


# The amount columns each category reads; a value in another one is refused, never dropped
# (units given for lunch would silently become the usual one lunch a day).
RULE_COLUMNS = {
    Category.TRIPS: ("amount_eur",),
    Category.PARTICIPATION: ("amount_eur",),
    Category.LUNCH: ("unit_cap_eur", "per_day"),
    Category.TUTORING: ("unit_cap_eur", "units"),
}


def _rule(category: Category, cells: dict[str, str]) -> BudgetRule:
    """The budget rule of the line: the columns its category needs, the defaults otherwise;
    a filled column the category does not read refuses the line."""
    for column in ("amount_eur", "unit_cap_eur", "units", "per_day"):
        if cells.get(column, "").strip() and column not in RULE_COLUMNS[category]:
            raise _Refused(
                "field_not_for_category",
                f"{column} does not apply to {category.value}; it takes "
                f"{' and '.join(RULE_COLUMNS[category])}.",
            )
    amount = _cents(cells.get("amount_eur", ""), "amount_eur")
    cap = _cents(cells.get("unit_cap_eur", ""), "unit_cap_eur")
    units = _count(cells.get("units", ""), "units")
    per_day = _count(cells.get("per_day", ""), "per_day")
    base = default_rule(category)
    if category is Category.TRIPS:
        if amount is None:
            raise _Refused("rule_required", "Trips need amount_eur (the approved total).")
        return BudgetRule(RuleKind.TOTAL, amount)
    if category is Category.PARTICIPATION:
        assert base is not None
        return BudgetRule(RuleKind.MONTHLY, amount or base.amount_cents, Accrual.ACCRUE)
    assert base is not None
    if category is Category.LUNCH:
        return BudgetRule(
            RuleKind.UNITS, cap or base.amount_cents, units_per_day=per_day or base.units_per_day
        )
    return BudgetRule(
        RuleKind.UNITS, cap or base.amount_cents, units_total=units or base.units_total
    )


# A control character breaks the file as CSV (a whole-file refusal); any other invisible
# character refuses only its line, names by the names rule (`clean_name`).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _name(text: str, field: str) -> str:
    """A child's or family's name by the rule of the pages and the APIs (`clean_name`)."""
    try:
        return clean_name(text, field)
    except InvalidRequest as error:
        raise _Refused(error.code, error.message) from None


def _line(number: int, cells: dict[str, str]) -> ApprovalLine:
    for name in REQUIRED:
        if not cells.get(name, "").strip():
            raise _Refused("field_required", f"{name} is empty.")
    for name, cell in cells.items():
        if name not in ("family_name", "given_name") and not cell.isprintable():
            raise _Refused("invalid_text", f"{name} holds an invisible or control character.")
    for name in ("decision_ref", "case_ref", "child_ref"):
        if len(cells[name].strip()) > MAX_REF:
            raise _Refused("ref_too_long", f"{name} is longer than {MAX_REF} characters.")
    try:
        category = Category(cells["category"].strip().lower())
    except ValueError:
        raise _Refused(
            "unknown_category", f"'{cells['category'].strip()}' is not a category."
        ) from None
    legal = cells.get("legal_basis", "").strip() or None
    if legal is not None and legal not in LEGAL_BASES:
        raise _Refused("unknown_legal_basis", f"'{legal}' is not a legal basis.")
    status = cells.get("status", "").strip().lower() or "approved"
    if status not in STATUSES:
        raise _Refused("unknown_status", f"'{status}' is neither approved nor ended.")
    valid_from = _day(cells["valid_from"], "valid_from")
    valid_until = _day(cells["valid_until"], "valid_until")
    if valid_until < valid_from:
        raise _Refused("invalid_period", "The period ends before it starts.")
    return ApprovalLine(
        number=number,
        decision_ref=cells["decision_ref"].strip(),
        case_ref=cells["case_ref"].strip(),
        child_ref=cells["child_ref"].strip(),
        family_name=_name(cells["family_name"], "family_name"),
        given_name=_name(cells["given_name"], "given_name"),
        birth_date=_day(cells["birth_date"], "birth_date"),
        category=category,
        valid_from=valid_from,
        valid_until=valid_until,
        rule=_rule(category, cells),
        legal_basis=legal,
        status=status,
    )


def check_file(data: bytes) -> None:
    """Refuse at once (FileRefused) what is no approvals file at all: too large, not UTF-8,
    NUL bytes, empty, a header that does not fit. The lines are checked later."""
    _rows(decode(data))


def approval_lines(data: bytes) -> Iterator[ApprovalLine | LineRefusal]:
    """Every line of the file in order, read or refused with its reason, one at a time (a
    long file is never held as objects); FileRefused for the file, possibly after lines."""
    header, rows = _rows(decode(data))
    seen: dict[str, int] = {}
    for number, row in rows:
        if len(row) != len(header):
            raise FileRefused(
                f"Line {number} has {len(row)} fields, the header {len(header)}.",
                code="bad_line",
                line=number,
            )
        if any(len(cell) > MAX_FIELD or _CONTROL.search(cell) for cell in row):
            raise FileRefused(
                f"Line {number} has a field longer than {MAX_FIELD} characters or a control "
                "character.",
                code="bad_line",
                line=number,
            )
        cells = dict(zip(header, row, strict=True))
        ref = cells["decision_ref"].strip()
        if ref and ref in seen:
            raise FileRefused(
                f"decision_ref {ref} is in line {seen[ref]} and again in line {number}.",
                code="duplicate_decision_ref",
            )
        seen[ref] = number
        try:
            yield _line(number, cells)
        except _Refused as refused:
            yield LineRefusal(number, ref, refused.code, refused.message)
    if not seen:
        raise FileRefused("The file has a header but no lines.", code="no_lines")


def in_chunks(
    data: bytes, size: int | None = None
) -> Iterator[tuple[list[ApprovalLine], list[LineRefusal]]]:
    """The file's lines `size` (CHUNK) at a time: those read, and those refused."""
    size = size or CHUNK
    lines: list[ApprovalLine] = []
    refusals: list[LineRefusal] = []
    for item in approval_lines(data):
        if isinstance(item, LineRefusal):
            refusals.append(item)
        else:
            lines.append(item)
        if len(lines) + len(refusals) >= size:
            yield lines, refusals
            lines, refusals = [], []
    if lines or refusals:
        yield lines, refusals


def count_lines(data: bytes) -> int:
    """About how many lines the file has after its header (for progress: quoted line breaks
    count too)."""
    body = data.rstrip(b"\r\n")
    return max(body.count(b"\n"), 0)
