"""The public directory of partners (a read model): the active partners of a city that
agreed to be listed, by category and district, found by name and place as people type
them; each with its address, opening hours, accessibility and offers as it wrote them, and
its contact only where it chose to publish it. Never its IBAN or account holder."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from youcard.db import Session
from youcard.domain.enums import Category, PartnerStatus
from youcard.domain.models import Issuer, Partner, PartnerOffer
from youcard.domain.search import fold

MAX_SHOWN = 300


@dataclass(frozen=True)
class ListedOffer:
    category: Category
    description: str
    price: str


@dataclass(frozen=True)
class Listed:
    """A partner as families see it."""

    id: int
    issuer_id: str
    name: str
    street: str | None
    postal_code: str | None
    city: str | None
    district: str | None
    opening_hours: str | None
    accessibility: str | None
    offers: tuple[ListedOffer, ...]
    contact_person: str | None  # only where the partner published its contact
    email: str | None
    phone: str | None

    @property
    def address(self) -> str:
        """Street, postal code and city in one line (the map's search)."""
        place = " ".join(p for p in (self.postal_code, self.city) if p)
        return ", ".join(p for p in (self.street, place) if p)


@dataclass(frozen=True)
class Directory:
    partners: list[Listed]
    districts: list[str]  # of the city's listed partners, for the filter
    cities: list[tuple[str, str]]  # (issuer id, name) of every city with a listed partner
    more: bool  # more partners matched than are shown


def directory(
    session: Session,
    *,
    issuer_id: str | None = None,
    category: str | None = None,
    district: str | None = None,
    query: str | None = None,
) -> Directory:
    """The listed partners (of one city, when `issuer_id`), in `category` and `district`
    when given, whose name, street, postal code, city or district holds `query` (folded:
    "muller" finds Müller), by name."""
    rows = session.scalars(
        select(Partner)
        .where(Partner.listed.is_(True), Partner.status == PartnerStatus.ACTIVE)
        .order_by(Partner.name, Partner.id)
    ).all()
    cities = dict(
        session.execute(
            select(Issuer.id, Issuer.name).where(Issuer.id.in_({p.issuer_id for p in rows}))
        ).all()
    )
    if issuer_id:
        rows = [p for p in rows if p.issuer_id == issuer_id]
    districts = sorted({p.district for p in rows if p.district}, key=fold)
    offers: dict[int, list[ListedOffer]] = defaultdict(list)
    for offer in session.scalars(
        select(PartnerOffer).where(PartnerOffer.partner_id.in_([p.id for p in rows]))
    ):
        offers[offer.partner_id].append(ListedOffer(offer.category, offer.description, offer.price))
    wanted = fold(query or "")
    found = []
    for p in rows:
        listed = sorted(offers[p.id], key=lambda o: list(Category).index(o.category))
        if category and category not in {o.category.value for o in listed}:
            continue
        if district and p.district != district:
            continue
        place = " ".join(filter(None, (p.name, p.street, p.postal_code, p.city, p.district)))
        if wanted and wanted not in fold(place):
            continue
        public = p.contact_public
        found.append(
            Listed(
                id=p.id,
                issuer_id=p.issuer_id,
                name=p.name,
                street=p.street,
                postal_code=p.postal_code,
                city=p.city,
                district=p.district,
                opening_hours=p.opening_hours,
                accessibility=p.accessibility,
                offers=tuple(listed),
                contact_person=p.contact_person if public else None,
                email=p.contact_email if public else None,
                phone=p.phone if public else None,
            )
        )
    return Directory(
        found[:MAX_SHOWN],
        districts,
        sorted(cities.items(), key=lambda item: fold(item[1])),
        len(found) > MAX_SHOWN,
    )
