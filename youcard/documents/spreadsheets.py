"""Files for spreadsheets (German Excel, LibreOffice): semicolons, decimal commas, and no
cell a spreadsheet would take for a formula. Every CSV the services write goes through
here."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

# A spreadsheet runs a cell that begins with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@")


def euros(cents: int) -> str:
    """Cents as German-style euros for spreadsheets: 1234 -> "12,34", -50 -> "-0,50"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100},{abs(cents) % 100:02d}"


def csv_text(text: str) -> str:
    """No formula injection: a cell never starts with = + - @ (or a tab or carriage return)
    in a spreadsheet; such a text gets a leading apostrophe."""
    return "'" + text if text[:1] in (*FORMULA_START, "\t", "\r") else text


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The rows as semicolon CSV lines (CRLF), one at a time (a long file is streamed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
