"""Finding families: by reference number, family name or a child's name, as typed."""

from __future__ import annotations

from sqlalchemy import or_, select

from youcard.db import Session
from youcard.models import Child, Household
from youcard.policy import ALL_STAFF, Staff, require_role
from youcard.search import fold

MAX_QUERY = 100


def _like(text: str) -> str:
    """A LIKE pattern for "contains `text`" (its own % and _ taken literally, escape !)."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def find_households(
    session: Session, *, by: Staff, q: str, limit: int
) -> tuple[list[Household], bool]:
    """The principal's issuer's families whose reference or name, or a child's name,
    contains `q` (folded: "yilmaz" finds Yılmaz), by reference; and whether there are more."""
    require_role(by, ALL_STAFF, "see families")
    stmt = select(Household).where(Household.issuer_id == by.issuer_id)
    key = fold(q[:MAX_QUERY])
    if key:
        like = _like(key)
        stmt = stmt.where(
            or_(
                Household.search_key.like(like, escape="!"),
                Household.id.in_(
                    select(Child.household_id).where(
                        Child.issuer_id == by.issuer_id, Child.search_key.like(like, escape="!")
                    )
                ),
            )
        )
    rows = list(session.scalars(stmt.order_by(Household.reference).limit(limit + 1)))
    return rows[:limit], len(rows) > limit
