"""Issuers: create one (the demo, a new city) and set the account it pays partners from.

The caller (a view or the CLI) checks who may call them and passes its identity as
`actor` for the audit log.
"""

from __future__ import annotations

import re
from datetime import datetime

from schwifty import BIC

from youcard import audit
from youcard.db import Session
from youcard.enums import Role
from youcard.errors import Forbidden, InvalidRequest, NotFound
from youcard.models import (
    Issuer,
)
from youcard.operations.values import clean_text, valid_iban
from youcard.policy import ADMINISTRATORS, Staff, require_role

ISSUER_ID_PATTERN = re.compile(r"[A-Z]{2}(-[A-Z0-9]+){1,2}")


MAX_ISSUER_ID_LENGTH = 12  # the YC1 credential must fit QR version 8 (DESIGN.md)


def create_issuer(session: Session, *, by: Staff, name: str, now: datetime) -> Issuer:
    """Register an issuing authority, e.g. `DE-NW-HAMM` "Stadt Hamm": `by` is the system
    acting for the new issuer (`Staff.system`: the command line, the demo); no member of any
    issuer's staff may create one."""
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
        name=clean_text(name, "name", 200),
        created_at=now,
    )
    session.add(issuer)
    session.flush()
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
