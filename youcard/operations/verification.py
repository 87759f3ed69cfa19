"""Verify a scanned credential online: public keys only, and the cards' current status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from youcard import credentials, trust
from youcard.db import Session
from youcard.enums import CardStatus
from youcard.models import Card, CardRevocation

REVOCATIONS_PAGE = 1000


def card_is_revoked(session: Session, serial: bytes, issuer_id: str) -> bool:
    """True unless an active card of this issuer has this serial (unknown serials fail too).

    The issuer must match: one issuer's key must not vouch for another issuer's card.
    """
    found = session.execute(
        select(Card.status, Card.issuer_id).where(Card.serial == serial)
    ).one_or_none()
    return found is None or found.status is not CardStatus.ACTIVE or found.issuer_id != issuer_id


def check_credential(
    session: Session,
    credential: object,
    *,
    now: datetime,
    trusted: credentials.TrustedKeys | None = None,
) -> credentials.VerifyResult:
    """DESIGN.md's verification, online: trust list from the database, revocation by card status."""
    trusted = trusted if trusted is not None else trust.trusted_keys(session)
    result = credentials.verify(credential, trusted=trusted, now=int(now.timestamp()))
    claims = result.claims
    if (
        result.valid
        and claims is not None
        and card_is_revoked(session, claims.serial, claims.issuer)
    ):
        return credentials.VerifyResult(
            valid=False, reason="revoked", claims=claims, kid=result.kid
        )
    return result


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
