"""Finding families: by reference number, family name or a child's name, as typed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from youcard.db import Session
from youcard.domain.models import Child, Household
from youcard.domain.search import fold
from youcard.policy import ALL_STAFF, Staff, require_role

MAX_QUERY = 100


def _like(text: str) -> str:
    """A LIKE pattern for "contains `text`" (its own % and _ taken literally, escape !)."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class HouseholdPage:
    """A page of families (by reference), how many match in all, and what comes next."""

    households: list[Household]
    children: dict[int, int]  # household id -> number of children
    total: int
    next_after: str | None  # the last reference shown, when more follow


def find_households(
    session: Session, *, by: Staff, q: str, limit: int, after: str | None = None
) -> tuple[list[Household], bool]:
    """The principal's issuer's families whose reference or name, or a child's name,
    contains `q` (folded: "yilmaz" finds Yılmaz), by reference, from the one after `after`;
    and whether there are more."""
    stmt = _matching(by, q)
    if after:
        stmt = stmt.where(Household.reference > after)
    rows = list(session.scalars(stmt.order_by(Household.reference).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def household_page(
    session: Session, *, by: Staff, q: str, limit: int, after: str | None = None
) -> HouseholdPage:
    """A page of `find_households`, with the total and each family's number of children
    (one query each, however many families there are)."""
    households, more = find_households(session, by=by, q=q, limit=limit, after=after)
    total = session.scalar(select(func.count()).select_from(_matching(by, q).subquery())) or 0
    children = {
        household_id: count
        for household_id, count in session.execute(
            select(Child.household_id, func.count())
            .where(Child.household_id.in_([h.id for h in households]))
            .group_by(Child.household_id)
        )
    }
    return HouseholdPage(
        households, children, total, households[-1].reference if more and households else None
    )


def _matching(by: Staff, q: str) -> Select[Household]:
    require_role(by, ALL_STAFF, "see families")
    stmt = select(Household).where(Household.issuer_id == by.issuer_id)
    key = fold(q[:MAX_QUERY])
    if key:
        like = _like(key)
        # Two lookups joined by UNION, each one that PostgreSQL's trigram index answers
        # (migration 0018); an OR over both tables made it read every family.
        stmt = stmt.where(
            Household.id.in_(
                select(Household.id)
                .where(
                    Household.issuer_id == by.issuer_id, Household.search_key.like(like, escape="!")
                )
                .union(
                    select(Child.household_id).where(
                        Child.issuer_id == by.issuer_id, Child.search_key.like(like, escape="!")
                    )
                )
            )
        )
    return stmt
