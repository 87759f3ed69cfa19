"""A partner's own profile, edited by its staff on the scanner side: its address and
district, opening hours, accessibility, contact, what it offers in each category it may
book and for what price, whether the directory lists it and shows its contact. Every value
through the rules the office's pages use; every change audited by the names of the fields
that changed. New bank details wait for an administrator of the city (four eyes: the
partner asks, the office confirms)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import select

from youcard import audit
from youcard.db import Session
from youcard.domain.enums import Category
from youcard.domain.models import Partner, PartnerOffer
from youcard.errors import Forbidden, InvalidRequest, NotFound
from youcard.messages import partner_events
from youcard.operations.contacts import email_address, phone_number, postal_code
from youcard.operations.values import clean_free_text, clean_name, valid_iban
from youcard.policy import Counter


@dataclass(frozen=True)
class Profile:
    """The profile as a form sends it (unchecked); offers: category -> (offer, price), an
    empty offer removes the category's."""

    street: str | None
    postal_code: str | None
    city: str | None
    district: str | None
    contact_person: str | None
    contact_email: str | None
    phone: str | None
    opening_hours: str | None
    accessibility: str | None
    listed: bool
    contact_public: bool
    offers: dict[str, tuple[str, str]]


MAX_OFFER, MAX_PRICE = 500, 100


def checked_offer(text: str | None, price: str | None) -> tuple[str, str] | None:
    """An offer in a category as a partner writes it: its description and its price, both
    or neither (None); InvalidRequest (`offer_required`) for one without the other."""
    said = clean_free_text(text, "offer", MAX_OFFER)
    cost = clean_free_text(price, "price", MAX_PRICE)
    if said is None and cost is None:
        return None
    if said is None or cost is None:
        raise InvalidRequest(
            "An offer needs its description and its price.", code="offer_required", field="offer"
        )
    return said, cost


def _staff_partner(session: Session, by: Counter) -> Partner:
    """The partner of `by`, a signed-in staff member (a device at the counter does not
    change its partner's profile)."""
    if by.partner_user_id is None:
        raise Forbidden("Only the partner's staff change its profile.", code="not_staff")
    partner = session.get(Partner, by.partner_id)
    if partner is None:
        raise NotFound("No such partner.", code="partner_not_found")
    return partner


def _name(value: str | None, field: str, max_length: int = 200) -> str | None:
    return clean_name(value or "", field, max_length) if (value or "").strip() else None


def _checked(profile: Profile) -> dict[str, object]:
    return {
        "street": _name(profile.street, "street"),
        "postal_code": postal_code(profile.postal_code),
        "city": _name(profile.city, "city", 100),
        "district": _name(profile.district, "district", 100),
        "contact_person": _name(profile.contact_person, "contact_person"),
        "contact_email": email_address(profile.contact_email, "contact_email"),
        "phone": phone_number(profile.phone),
        "opening_hours": clean_free_text(profile.opening_hours, "opening_hours", 500),
        "accessibility": clean_free_text(profile.accessibility, "accessibility", 300),
        "listed": bool(profile.listed),
        "contact_public": bool(profile.contact_public),
    }


def update_profile(session: Session, *, by: Counter, profile: Profile, now: datetime) -> Partner:
    """Save the partner's profile; InvalidRequest on the first value that breaks a rule
    (nothing is saved then). Offers only in categories the partner may book; a partner
    listed in the directory needs its address and at least one offer."""
    partner = _staff_partner(session, by)
    values = _checked(profile)
    allowed = {category.value for _, category in by.permissions}
    offers: dict[Category, tuple[str, str]] = {}
    for category, (text, price) in profile.offers.items():
        if category not in allowed:
            raise InvalidRequest(
                "The partner may not book this category.", code="category_not_permitted"
            )
        written = checked_offer(text, price)
        if written is not None:
            offers[Category(category)] = written
    if values["listed"] and (not offers or not values["street"] or not values["city"]):
        raise InvalidRequest(
            "The directory lists a partner with its address and at least one offer.",
            code="listing_incomplete",
            field="listed",
        )
    changed = [name for name, value in values.items() if getattr(partner, name) != value]
    old_contact = partner.contact_email
    for name in changed:
        setattr(partner, name, values[name])
    stored = {
        offer.category: offer
        for offer in session.scalars(
            select(PartnerOffer).where(PartnerOffer.partner_id == partner.id)
        )
    }
    for category, offer in stored.items():
        if category not in offers:
            session.delete(offer)
            changed.append(f"offer:{category.value}")
    for category, (text, price) in offers.items():
        existing = stored.get(category)
        if existing is None:
            session.add(
                PartnerOffer(
                    partner_id=partner.id, category=category, description=text, price=price
                )
            )
        elif (existing.description, existing.price) == (text, price):
            continue
        else:
            existing.description, existing.price = text, price
        changed.append(f"offer:{category.value}")
    if changed:
        session.flush()
        audit.record(
            session,
            issuer_id=partner.issuer_id,
            actor=by.actor,
            action="partner.profile",
            object_type="partner",
            object_id=partner.id,
            now=now,
            data={"changed": sorted(changed)},
        )
    if "contact_email" in changed:
        partner_events.contact_changed(session, partner, old=old_contact, now=now)
    return partner


def ask_for_new_iban(session: Session, *, by: Counter, iban: str, now: datetime) -> Partner:
    """The partner's staff enter new bank details: they wait for an administrator of the
    city to confirm them (the payment files keep paying the confirmed ones until then); the
    partner's contact address hears of it."""
    partner = _staff_partner(session, by)
    partner.pending_iban = valid_iban(iban)
    partner.pending_iban_by = by.actor
    partner.pending_iban_at = now
    audit.record(
        session,
        issuer_id=partner.issuer_id,
        actor=by.actor,
        action="partner.iban_requested",
        object_type="partner",
        object_id=partner.id,
        now=now,
    )
    partner_events.bank_details(session, partner, confirmed=False, now=now)
    return partner


PROFILE_FIELDS = tuple(f.name for f in fields(Profile) if f.name != "offers")
