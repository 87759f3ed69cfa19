"""The public side of the signing keys: the trust list and the verifier's key set.

Needs no key-encryption key; the redeemer uses only this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from youcard import credentials
from youcard.db import Session
from youcard.domain.enums import CardStatus, KeyStatus
from youcard.domain.models import Card, SigningKey
from youcard.policy import ADMINISTRATORS, Staff, require_role

LISTED = (KeyStatus.ACTIVE, KeyStatus.RETIRED)


@dataclass(frozen=True)
class KeyInfo:
    """A key as the trust list and `youcard keys list` show it."""

    issuer_id: str
    kid: str
    status: KeyStatus
    created_at: datetime
    retired_at: datetime | None
    last_card_valid_until: date | None
    public_key: bytes

    def jwk(self) -> dict[str, Any]:
        """The trust-list entry: JWK OKP/Ed25519 (RFC 8037) with issuer, status and validity."""
        return {
            "iss": self.issuer_id,
            "kid": self.kid,
            "kty": "OKP",
            "crv": "Ed25519",
            "x": credentials.b64url(self.public_key),
            "status": self.status.value,
            "nbf": int(self.created_at.timestamp()),
            "valid_until": (
                self.last_card_valid_until.isoformat() if self.last_card_valid_until else None
            ),
        }


def list_keys(
    session: Session, *, listed_only: bool = False, issuer_id: str | None = None
) -> list[KeyInfo]:
    """Every key (or only those in the trust list; or one issuer's), by issuer and age."""
    last = (
        select(Card.signing_key_id, func.max(Card.valid_until).label("until"))
        .where(Card.status == CardStatus.ACTIVE)
        .group_by(Card.signing_key_id)
        .subquery()
    )
    query = (
        select(SigningKey, last.c.until)
        .outerjoin(last, last.c.signing_key_id == SigningKey.id)
        .order_by(SigningKey.issuer_id, SigningKey.created_at, SigningKey.id)
    )
    if listed_only:
        query = query.where(SigningKey.status.in_(LISTED))
    if issuer_id is not None:
        query = query.where(SigningKey.issuer_id == issuer_id)
    return [
        KeyInfo(
            issuer_id=key.issuer_id,
            kid=credentials.b64url(key.kid),
            status=key.status,
            created_at=key.created_at,
            retired_at=key.retired_at,
            last_card_valid_until=until,
            public_key=key.public_key,
        )
        for key, until in session.execute(query)
    ]


def issuer_keys(session: Session, *, by: Staff) -> list[KeyInfo]:
    """The signing keys of `by`'s issuer (its administrators see them)."""
    require_role(by, ADMINISTRATORS, "see signing keys")
    return list_keys(session, issuer_id=by.issuer_id)


def trust_list(session: Session, *, now: datetime) -> dict[str, Any]:
    """The public trust list (`/.well-known/youcard/trust-list.json`)."""
    return {
        "format": "youcard-trust-list/1",
        "generated_at": now.isoformat(),
        "keys": [info.jwk() for info in list_keys(session, listed_only=True)],
    }


def trusted_keys(session: Session, *issuer_ids: str) -> credentials.TrustedKeys:
    """The verifier's view: every listed key of every issuer (of `issuer_ids` when given)."""
    trusted = credentials.TrustedKeys()
    query = select(SigningKey.issuer_id, SigningKey.public_key).where(SigningKey.status.in_(LISTED))
    if issuer_ids:
        query = query.where(SigningKey.issuer_id.in_(issuer_ids))
    for issuer_id, public in session.execute(query):
        trusted.add(issuer_id, public)
    return trusted
