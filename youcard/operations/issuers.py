"""Issuers: create one (the demo, a new city) and set the account it pays partners from.

`youcard issuer create` and the demo register a new city with its first signing key
(`create_issuer`); `list_issuers` is what `youcard issuer list` shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from schwifty import BIC
from sqlalchemy import select

from youcard import audit, credentials
from youcard.credentials import keys
from youcard.db import Session, refusing_duplicates
from youcard.domain.enums import KeyStatus, Role
from youcard.domain.models import Issuer, SigningKey, StaffUser
from youcard.errors import Conflict, Forbidden, InvalidRequest, NotFound
from youcard.operations.values import clean_name, clean_text, valid_iban
from youcard.policy import ADMINISTRATORS, Staff, require_role

ISSUER_ID_PATTERN = re.compile(r"[A-Z]{2}(-[A-Z0-9]+){1,2}")


MAX_ISSUER_ID_LENGTH = 12  # the YC1 credential must fit QR version 8 (docs/operations.md)


def create_issuer(session: Session, *, by: Staff, name: str, kek: bytes, now: datetime) -> Issuer:
    """Register an issuing authority, e.g. `DE-NW-HAMM` "Stadt Hamm", with its first signing
    key (encrypted under `kek`): `by` is the system acting for the new issuer
    (`Staff.system`: the command line, the demo); no member of any issuer's staff may."""
    if by.user_id is not None or by.role is not Role.ADMINISTRATOR:
        raise Forbidden("Only the system registers an issuer.", code="forbidden")
    issuer_id = by.issuer_id
    if len(issuer_id) > MAX_ISSUER_ID_LENGTH or not ISSUER_ID_PATTERN.fullmatch(issuer_id):
        raise InvalidRequest(
            "The issuer id is a country code and up to two parts, e.g. DE-NW-HAMM,"
            " at most 12 characters (it has to fit the card's QR code).",
            code="invalid_issuer_id",
        )
    issuer = Issuer(
        id=clean_text(issuer_id, "issuer_id", 40),
        name=clean_name(name, "name", 200),
        created_at=now,
    )
    with refusing_duplicates(
        session,
        lambda: Conflict(f"The issuer id {issuer_id} is already taken.", code="issuer_exists"),
    ):
        session.add(issuer)
    audit.record(
        session,
        issuer_id=issuer.id,
        actor=by.actor,
        action="issuer.create",
        object_type="issuer",
        object_id=issuer.id,
        now=now,
        data={"name": issuer.name},
    )
    keys.create_key(session, by=by, kek=kek, now=now)
    return issuer


def set_issuer_account(
    session: Session, *, by: Staff, iban: str, bic: str | None, now: datetime
) -> Issuer:
    """The city's account that pays the partners (the debtor of the SEPA transfers)."""
    require_role(by, ADMINISTRATORS, "set the city's account")
    issuer = session.get(Issuer, by.issuer_id)
    if issuer is None:
        raise NotFound("No such issuer.", code="issuer_not_found")
    issuer.iban = valid_iban(iban)
    bic = (bic or "").strip().upper() or None
    if bic is not None:
        try:
            bic = str(BIC(bic).compact)
        except ValueError:
            raise InvalidRequest("This BIC is not valid.", code="invalid_bic") from None
    issuer.bic = bic
    session.flush()
    audit.record(
        session,
        issuer_id=issuer.id,
        actor=by.actor,
        action="issuer.account",
        object_type="issuer",
        object_id=issuer.id,
        now=now,
        data={"iban": issuer.iban, "bic": issuer.bic},
    )
    return issuer


@dataclass(frozen=True)
class IssuerEntry:
    """An issuer as the operator's `youcard issuer list` shows it."""

    id: str
    name: str
    active_kid: str | None
    staff: int
    administrators: int


def list_issuers(session: Session) -> list[IssuerEntry]:
    """Every issuer of the deployment (for the operator: no family or partner data)."""
    entries = []
    for issuer in session.scalars(select(Issuer).order_by(Issuer.id)):
        kid = session.scalar(
            select(SigningKey.kid).where(
                SigningKey.issuer_id == issuer.id, SigningKey.status == KeyStatus.ACTIVE
            )
        )
        roles = session.scalars(
            select(StaffUser.role).where(
                StaffUser.issuer_id == issuer.id, StaffUser.active.is_(True)
            )
        ).all()
        entries.append(
            IssuerEntry(
                id=issuer.id,
                name=issuer.name,
                active_kid=credentials.b64url(kid) if kid is not None else None,
                staff=len(roles),
                administrators=sum(1 for r in roles if r is Role.ADMINISTRATOR),
            )
        )
    return entries
