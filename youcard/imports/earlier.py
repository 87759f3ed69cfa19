"""The lines of an approvals file before the current chunk that a later line must agree with
(the same child described alike, no two periods of one benefit on the same day): kept in
memory for a dry run, read from the batch's stored lines while the jobs check a batch, none
while it is confirmed (each chunk is written before the next is planned)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from youcard.db import Session, among
from youcard.domain.models import ImportLine
from youcard.domain.search import fold
from youcard.imports.approvals_file import ApprovalLine

CHUNK = 1_000  # keys looked up per query


def chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    """`values` a CHUNK at a time (one query each)."""
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class Earlier:
    """The lines of the file before the current chunk that a later line must agree with
    (the same child described alike, no two periods of one benefit on the same day). This
    one keeps none: the confirmation writes each chunk before planning the next, so the
    database holds what earlier chunks did."""

    def of(self, session: Session, child_refs: Sequence[str]) -> dict[str, list[EarlierLine]]:
        """The earlier lines of these children."""
        return {}

    def remember(self, lines: Sequence[EarlierLine]) -> None:
        """A chunk is planned: its lines become earlier ones."""


class RememberedEarlier(Earlier):
    """Earlier lines kept in memory (a check that stores nothing: the dry run)."""

    def __init__(self) -> None:
        self._lines: dict[str, list[EarlierLine]] = {}

    def of(self, session: Session, child_refs: Sequence[str]) -> dict[str, list[EarlierLine]]:
        return {ref: list(self._lines[ref]) for ref in child_refs if ref in self._lines}

    def remember(self, lines: Sequence[EarlierLine]) -> None:
        for line in lines:
            self._lines.setdefault(line.child_ref, []).append(line)


class StoredEarlier(Earlier):
    """Earlier lines read from the batch's stored lines (`import_lines`, each chunk stored
    after it is planned): a 100,000-line file costs the memory of one chunk."""

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id

    def of(self, session: Session, child_refs: Sequence[str]) -> dict[str, list[EarlierLine]]:
        found: dict[str, list[EarlierLine]] = {}
        for chunk in chunks(sorted(child_refs)):
            for row in session.execute(
                select(
                    ImportLine.number,
                    ImportLine.child_ref,
                    ImportLine.child_key,
                    ImportLine.category,
                    ImportLine.valid_from,
                    ImportLine.valid_until,
                ).where(
                    ImportLine.batch_id == self.batch_id,
                    among(session, ImportLine.child_ref, chunk),
                    ImportLine.outcome != "refused",
                )
            ):
                found.setdefault(row.child_ref, []).append(
                    EarlierLine(
                        row.number,
                        row.child_ref,
                        row.child_key or "",
                        row.category or "",
                        row.valid_from,
                        row.valid_until,
                    )
                )
        return found


@dataclass(frozen=True)
class EarlierLine:
    """What a later line of the file is checked against."""

    number: int
    child_ref: str
    child_key: str  # the child as the line describes it (see child_key)
    category: str
    valid_from: date | None
    valid_until: date | None


def child_key(line: ApprovalLine) -> str:
    """The child as a line describes it: two lines of one `child_ref` must agree on it."""
    return "\x1f".join(
        (line.case_ref, fold(line.given_name), fold(line.family_name), line.birth_date.isoformat())
    )


def earlier_line(line: ApprovalLine) -> EarlierLine:
    return EarlierLine(
        line.number,
        line.child_ref,
        child_key(line),
        line.category.value,
        line.valid_from,
        line.valid_until,
    )
