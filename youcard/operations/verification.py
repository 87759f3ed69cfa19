"""The revocation list scanners fetch: revoked serials in the order they were revoked."""

from __future__ import annotations

from sqlalchemy import select

from youcard.db import Session
from youcard.domain.models import CardRevocation

REVOCATIONS_PAGE = 1000


def revocations_since(
    session: Session,
    *,
    since: int,
    issuer_ids: list[str] | None = None,
    limit: int = REVOCATIONS_PAGE,
) -> list[CardRevocation]:
    """Revoked serials with a number above `since`, oldest first (a page of `limit`)."""
    query = select(CardRevocation).where(CardRevocation.seq > since)
    if issuer_ids is not None:
        query = query.where(CardRevocation.issuer_id.in_(issuer_ids))
    return list(session.scalars(query.order_by(CardRevocation.seq).limit(limit)))
