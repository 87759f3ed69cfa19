"""What the partner pages and the staff API show of partners (read models): the issuer's
own and the ones it may accept, and one partner with its staff accounts and devices (the
issuer's administrators only); and a partner's own profile, for its staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from youcard.db import Session
from youcard.domain.enums import Category
from youcard.domain.models import DeviceToken, Partner, PartnerOffer, PartnerUser
from youcard.errors import NotFound
from youcard.policy import ADMINISTRATORS, Counter, Staff, require_role
from youcard.reads.actors import actor_names
from youcard.tenancy import acceptable, owned


def own_partners(session: Session, *, by: Staff) -> Sequence[Partner]:
    """The issuer's partners by name."""
    require_role(by, ADMINISTRATORS, "see partners")
    return session.scalars(
        select(Partner).where(Partner.issuer_id == by.issuer_id).order_by(Partner.name)
    ).all()


def partners_to_accept(session: Session, *, by: Staff) -> Sequence[Partner]:
    """Other issuers' partners this issuer may accept for its cards, by name."""
    require_role(by, ADMINISTRATORS, "see partners")
    return session.scalars(
        select(Partner)
        .where(Partner.issuer_id != by.issuer_id, acceptable(by))
        .order_by(Partner.name)
    ).all()


def accepted_categories(partner: Partner, *, by: Staff) -> list[str]:
    """What the partner may book on `by`'s issuer's cards (category values, sorted)."""
    return sorted(p.category.value for p in partner.permissions if p.issuer_id == by.issuer_id)


@dataclass(frozen=True)
class PartnerView:
    partner: Partner
    devices: Sequence[DeviceToken]  # oldest first
    users: Sequence[PartnerUser]  # oldest first
    pending_iban_by: str  # who asked for the IBAN waiting for a second look, by name


def partner_view(session: Session, *, by: Staff, partner_id: int) -> PartnerView:
    """One of the issuer's partners with its device tokens and staff accounts."""
    require_role(by, ADMINISTRATORS, "see partners")
    partner = owned(session, by, Partner, partner_id, "partner")
    devices = session.scalars(
        select(DeviceToken).where(DeviceToken.partner_id == partner.id).order_by(DeviceToken.id)
    ).all()
    users = session.scalars(
        select(PartnerUser).where(PartnerUser.partner_id == partner.id).order_by(PartnerUser.id)
    ).all()
    asked = partner.pending_iban_by or ""
    return PartnerView(partner, devices, users, actor_names(session, [asked]).get(asked, asked))


@dataclass(frozen=True)
class OwnProfile:
    """What a partner's staff see of their partner's profile (and the directory shows when
    it is listed): the partner, its offers by category, new bank details waiting."""

    partner: Partner
    offers: dict[Category, PartnerOffer]
    iban_waiting: bool


def own_profile(session: Session, *, by: Counter) -> OwnProfile:
    """The profile of `by`'s partner."""
    partner = session.get(Partner, by.partner_id)
    if partner is None:
        raise NotFound("No such partner.", code="partner_not_found")
    offers = {
        offer.category: offer
        for offer in session.scalars(
            select(PartnerOffer).where(PartnerOffer.partner_id == partner.id)
        )
    }
    return OwnProfile(partner, offers, partner.pending_iban is not None)
