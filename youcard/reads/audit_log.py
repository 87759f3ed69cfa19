"""The audit log as its readers see it (a read model for the audit page and the staff
API): an issuer's events, newest first, filtered, a page at a time; and the check of the
issuer's hash chain, on request. Administrators only, their own issuer only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from youcard import audit
from youcard.audit import ChainProblem
from youcard.db import Session
from youcard.domain.models import AuditEvent
from youcard.policy import ADMINISTRATORS, Staff, require_role

FILTERS = ("object_type", "object_id", "actor", "action")  # each an exact match
COUNT_CAP = 10_000  # matches are counted up to this: exact millions on each load help nobody


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]  # newest first
    next_before: int | None  # the `before` of the next (older) page; None: no more
    counted: int | None  # how many match, up to COUNT_CAP + 1 (None: not asked)


def audit_events(
    session: Session,
    *,
    by: Staff,
    limit: int,
    filters: Mapping[str, str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    count: bool = False,
) -> AuditPage:
    """The issuer's events matching `filters` (empty values ignored), occurred in
    [since, until), with ids below `before`, at most `limit`; `count` also counts them."""
    require_role(by, ADMINISTRATORS, "read the audit log")
    query = select(AuditEvent).where(AuditEvent.issuer_id == by.issuer_id)
    for key, value in (filters or {}).items():
        if key in FILTERS and value:
            query = query.where(getattr(AuditEvent, key) == value)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    counted = None
    if count:
        counted = (
            session.scalar(
                select(func.count()).select_from(
                    query.with_only_columns(AuditEvent.id).limit(COUNT_CAP + 1).subquery()
                )
            )
            or 0
        )
    if before is not None:
        query = query.where(AuditEvent.id < before)
    events = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    more = len(events) > limit
    events = events[:limit]
    return AuditPage(events, events[-1].id if more and events else None, counted)


def check_chain(session: Session, *, by: Staff) -> list[ChainProblem]:
    """Recompute the issuer's hash chain (every sealed event of it: on request only, never
    another tenant's)."""
    require_role(by, ADMINISTRATORS, "check the audit log")
    return audit.verify(session, by.issuer_id)
