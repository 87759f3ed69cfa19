"""Who looked at a family's or a child's data (docs/operations.md "Operations and data protection":
every staff view logged): recorded by the views, read by administrators, forgotten after
ACCESS_LOG_YEARS (a setting) by the jobs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from youcard.db import Session
from youcard.domain.models import AccessEvent
from youcard.policy import ADMINISTRATORS, Staff, require_role

OBJECT_TYPES = ("household", "child")


def record_view(
    session: Session, *, by: Staff, object_type: str, object_id: int, via: str, now: datetime
) -> None:
    """Note that `by` saw the household's or child's data now (page or api)."""
    assert object_type in OBJECT_TYPES and via in ("page", "api")
    if by.user_id is None:
        return  # the system (commands, jobs) is not a person looking
    session.add(
        AccessEvent(
            issuer_id=by.issuer_id,
            staff_user_id=by.user_id,
            object_type=object_type,
            object_id=object_id,
            via=via,
            viewed_at=now,
        )
    )


@dataclass(frozen=True)
class AccessPage:
    events: list[AccessEvent]
    total: int
    next_before: int | None


def access_page(
    session: Session,
    *,
    by: Staff,
    limit: int,
    object_type: str | None = None,
    object_id: int | None = None,
    staff_user_id: int | None = None,
    before: int | None = None,
) -> AccessPage:
    """The issuer's access log, newest first, filtered by object or by staff member
    (administrators only)."""
    require_role(by, ADMINISTRATORS, "read the access log")
    query = select(AccessEvent).where(AccessEvent.issuer_id == by.issuer_id)
    if object_type in OBJECT_TYPES:
        query = query.where(AccessEvent.object_type == object_type)
        if object_id is not None:
            query = query.where(AccessEvent.object_id == object_id)
    if staff_user_id is not None:
        query = query.where(AccessEvent.staff_user_id == staff_user_id)
    total = session.scalar(
        select(func.count()).select_from(query.with_only_columns(AccessEvent.id).subquery())
    )
    if before is not None:
        query = query.where(AccessEvent.id < before)
    rows = list(session.scalars(query.order_by(AccessEvent.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return AccessPage(rows, total or 0, rows[-1].id if more and rows else None)


def kept_for() -> timedelta:
    """How long the access log is kept: YOUCARD_ACCESS_LOG_YEARS (default 2)."""
    years = int(os.environ.get("YOUCARD_ACCESS_LOG_YEARS", "2"))
    return timedelta(days=365 * max(years, 1) + max(years, 1) // 4)


def forget_old_views(session: Session, *, now: datetime, limit: int = 10_000) -> int:
    """Delete access events older than their retention, `limit` at a time."""
    old = select(AccessEvent.id).where(AccessEvent.viewed_at < now - kept_for()).limit(limit)
    ids = session.scalars(old).all()
    if ids:
        session.execute(delete(AccessEvent).where(AccessEvent.id.in_(ids)))
    return len(ids)
