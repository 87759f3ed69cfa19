"""What staff see of imports (the page and the staff API read the same): the issuer's
batches newest first, a page at a time with how many there are; one batch with its counts,
progress and a page of its lines (all, or one outcome). Reads only."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select

from youcard.db import Session
from youcard.domain.models import Child, Household, ImportBatch, ImportLine
from youcard.imports.batches import stored_plans
from youcard.imports.plan import OUTCOMES, LinePlan
from youcard.policy import ALL_STAFF, DECIDERS, RECORDERS, Staff, require_role
from youcard.tenancy import owned

CHECKING = ("queued", "checking")


@dataclass(frozen=True)
class BatchPage:
    """A page of batches, newest first; `total` in all; `next_before` when more follow."""

    batches: list[ImportBatch]
    total: int
    next_before: int | None


@dataclass(frozen=True)
class MayDo:
    """What the staff member may do with a batch now (the page offers only that; the
    operations decide again with the same role sets: youcard.imports.batches)."""

    confirm: bool  # a second person, who decides (four eyes)
    reject: bool
    letters: int  # of how many families the letters may be printed (0: none)


def may_do(batch: ImportBatch, *, by: Staff) -> MayDo:
    """`by`'s choices with `batch` (of `by`'s issuer: batch_of)."""
    waiting = by.active and batch.status == "recorded"
    letters = batch.families if batch.status == "confirmed" and by.role in RECORDERS else 0
    return MayDo(
        confirm=waiting and by.role in DECIDERS and by.user_id != batch.recorded_by_id,
        reject=waiting and by.role in RECORDERS | DECIDERS,
        letters=letters if by.active else 0,
    )


def counts_of(batch: ImportBatch) -> dict[str, int]:
    """How many lines of each outcome (so far, while it is checked)."""
    stored: dict[str, int] = json.loads(batch.counts or "{}")
    return {outcome: int(stored.get(outcome, 0)) for outcome in OUTCOMES}


def batch_page(session: Session, *, by: Staff, limit: int, before: int | None = None) -> BatchPage:
    """The principal's issuer's import batches, newest first, from the one before `before`."""
    require_role(by, ALL_STAFF, "see imports")
    mine = select(ImportBatch).where(ImportBatch.issuer_id == by.issuer_id)
    total = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    if before is not None:
        mine = mine.where(ImportBatch.id < before)
    rows = list(session.scalars(mine.order_by(ImportBatch.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return BatchPage(rows, total, rows[-1].id if more and rows else None)


def batch_of(session: Session, *, by: Staff, batch_id: int) -> ImportBatch:
    """One of the principal's issuer's batches (NotFound for any other: never tell whose)."""
    require_role(by, ALL_STAFF, "see imports")
    return owned(session, by, ImportBatch, batch_id, "import")


@dataclass(frozen=True)
class LinesPage:
    """A page of a batch's lines in file order; `total` of the chosen outcome (or all)."""

    lines: list[LinePlan]
    total: int
    next_after: int | None


def lines_page(
    session: Session,
    *,
    by: Staff,
    batch_id: int,
    limit: int,
    outcome: str | None = None,
    after: int = 0,
) -> LinesPage:
    """A page of the batch's lines (with their outcomes and reasons) after line `after`."""
    batch = batch_of(session, by=by, batch_id=batch_id)
    if outcome is not None and outcome not in OUTCOMES:
        outcome = None
    counts = counts_of(batch)  # kept with the batch: no count over 100,000 lines
    total = counts[outcome] if outcome is not None else sum(counts.values())
    lines = list(stored_plans(session, batch.id, outcome=outcome, after=after, limit=limit + 1))
    more = len(lines) > limit
    lines = lines[:limit]
    return LinesPage(lines, total, lines[-1].number if more and lines else None)


def batch_households(session: Session, *, by: Staff, batch_id: int) -> list[int]:
    """The ids of the families whose children the batch gave or changed a benefit, by
    reference (the batch's approval letters, in parts)."""
    batch = batch_of(session, by=by, batch_id=batch_id)
    children = (
        select(Child.household_id)
        .join(ImportLine, ImportLine.child_ref == Child.child_ref)
        .where(
            ImportLine.batch_id == batch.id,
            ImportLine.outcome.in_(("created", "updated")),
            Child.issuer_id == batch.issuer_id,
        )
    )
    return list(
        session.scalars(
            select(Household.id)
            .where(Household.issuer_id == batch.issuer_id, Household.id.in_(children))
            .order_by(Household.reference)
        )
    )
