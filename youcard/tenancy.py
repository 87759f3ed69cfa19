"""Which rows a principal may reach: its own issuer's (the tenant). Another issuer's row is
"not found", never "forbidden": nobody learns that it exists. Pages, the staff API and the
operations all ask here, so the rule has one owner.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, or_, select

from youcard.db import Session
from youcard.domain.enums import PartnerStatus
from youcard.domain.models import Child, Partner, PartnerPermission, PartnerServiceRequest
from youcard.errors import NotFound
from youcard.policy import Family


class OfIssuer(Protocol):
    """Something of one issuer: a row (households, children, cards, benefits, ...) or who
    asks (a staff principal or a family, youcard.policy)."""

    @property
    def issuer_id(self) -> str: ...


Row = TypeVar("Row", bound=OfIssuer)


def owned(session: Session, by: OfIssuer, model: type[Row], object_id: int, what: str) -> Row:
    """The `model` row `object_id` of `by`'s issuer; else NotFound (`<what>_not_found`)."""
    row = session.get(model, object_id)
    if row is None or row.issuer_id != by.issuer_id:
        raise NotFound(f"No such {what}.", code=f"{what}_not_found")
    return row


def acceptable(by: OfIssuer) -> ColumnElement[bool]:
    """The partners whose permissions on `by`'s cards may be set: its own issuer's, and
    another issuer's active partner that already serves `by`'s issuer or has asked to (a
    club in the neighbouring town). Any other partner of the deployment is "not found":
    an administrator cannot count through the ids of other cities' partners."""
    serves, asked = (
        select(link.partner_id)
        .where(link.partner_id == Partner.id, link.issuer_id == by.issuer_id)
        .exists()
        for link in (PartnerPermission, PartnerServiceRequest)
    )
    return or_(
        Partner.issuer_id == by.issuer_id,
        and_(Partner.status == PartnerStatus.ACTIVE, or_(serves, asked)),
    )


def partner_to_accept(session: Session, by: OfIssuer, partner_id: int) -> Partner:
    """One partner that is `acceptable` to `by`; else NotFound."""
    partner = session.scalar(select(Partner).where(Partner.id == partner_id, acceptable(by)))
    if partner is None:
        raise NotFound("No such partner.", code="partner_not_found")
    return partner


def own_child(session: Session, by: Family, child_id: int) -> Child:
    """A child of the signed-in family's household; another family's is NotFound."""
    child = session.get(Child, child_id)
    if child is None or child.household_id != by.household_id:
        raise NotFound("No such child.", code="child_not_found")
    return child
