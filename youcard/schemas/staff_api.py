"""The staff API's wire formats (for the city's case-management system) and what it shows
of families, children, benefits, cards and partners."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select

from youcard.db import Session
from youcard.domain.entitlement_rules import availability
from youcard.domain.enums import Category, Role
from youcard.domain.languages import FAMILY_LANGUAGES
from youcard.domain.models import Card, Entitlement, Household, Partner, StaffUser
from youcard.schemas.fields import Day


class Strict(Schema):
    """Unknown fields are refused."""

    class Meta:
        unknown = RAISE


class ContactIn(Strict):
    street = fields.String(allow_none=True, validate=validate.Length(max=200))
    postal_code = fields.String(allow_none=True, validate=validate.Length(max=10))
    city = fields.String(allow_none=True, validate=validate.Length(max=100))
    email = fields.String(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    language = fields.String(validate=validate.OneOf(FAMILY_LANGUAGES), load_default="de")


class HouseholdIn(Strict):
    reference = fields.String(required=True, validate=validate.Length(min=1, max=60))
    family_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact = fields.Nested(ContactIn, metadata={"description": "address, e-mail, phone, language"})


class ChildIn(Strict):
    given_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    family_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    birth_date = Day(required=True)


class EntitlementIn(Strict):
    category = fields.String(required=True, validate=validate.OneOf([c.value for c in Category]))
    valid_from = Day(required=True)
    valid_until = Day(required=True)
    amount_cents = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000_000))


class ReasonIn(Strict):
    reason = fields.String(validate=validate.Length(max=500))


class SearchIn(Strict):
    q = fields.String(validate=validate.Length(max=100))
    cursor = fields.String(validate=validate.Length(max=300))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class HouseholdSummaryOut(Schema):
    id = fields.Integer()
    reference = fields.String()
    family_name = fields.String()
    children = fields.Integer(metadata={"description": "how many children it has"})


class HouseholdPageOut(Schema):
    items = fields.List(fields.Nested(HouseholdSummaryOut))
    total = fields.Integer(metadata={"description": "families that match, in all"})
    next_cursor = fields.String(allow_none=True, required=True)


class EntitlementOut(Schema):
    id = fields.Integer()
    category = fields.String()
    status = fields.String()
    valid_from = Day()
    valid_until = Day()
    rule = fields.String(metadata={"description": "monthly, total or units"})
    amount_cents = fields.Integer(
        metadata={"description": "a month's amount, the total, or the cap per unit"}
    )
    units_total = fields.Integer(allow_none=True)
    units_per_day = fields.Integer(allow_none=True)
    total_cents = fields.Integer(allow_none=True, metadata={"description": "the period's total"})
    available_cents = fields.Integer(allow_none=True)
    available_units = fields.Integer(allow_none=True)


class CardOut(Schema):
    id = fields.Integer()
    serial = fields.String()
    version = fields.Integer()
    status = fields.String()
    valid_until = Day()
    credential = fields.String(allow_none=True)


class ChildOut(Schema):
    id = fields.Integer()
    given_name = fields.String()
    family_name = fields.String()
    birth_date = Day()
    entitlements = fields.List(fields.Nested(EntitlementOut))
    cards = fields.List(fields.Nested(CardOut))


class ContactOut(Schema):
    street = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    language = fields.String()


class HouseholdOut(Schema):
    id = fields.Integer()
    reference = fields.String()
    family_name = fields.String()
    contact = fields.Nested(ContactOut)
    children = fields.List(fields.Nested(ChildOut))


class PartnerIn(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    iban = fields.String(required=True, validate=validate.Length(min=1, max=42))
    categories = fields.List(
        fields.String(validate=validate.OneOf([c.value for c in Category])),
        required=True,
        validate=validate.Length(min=1, max=4),
    )


class PermissionsIn(Strict):
    categories = fields.List(
        fields.String(validate=validate.OneOf([c.value for c in Category])),
        required=True,
        validate=validate.Length(max=4),
    )


class NameIn(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class PartnerOut(Schema):
    id = fields.Integer()
    name = fields.String()
    iban = fields.String(allow_none=True)
    status = fields.String()
    issuer = fields.String()
    categories = fields.List(fields.String(), metadata={"description": "on this issuer's cards"})


class DeviceOut(Schema):
    id = fields.Integer()
    name = fields.String()
    token = fields.String(metadata={"description": "shown only in this answer"})


class KeyOut(Schema):
    kid = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    last_card_valid_until = Day(allow_none=True)


class StaffIn(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))


class RoleIn(Strict):
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))


class StaffOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    active = fields.Boolean()
    must_change_password = fields.Boolean()
    waiting = fields.Boolean(metadata={"description": "must wait after failed sign-ins"})
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)
    one_time_password = fields.String(
        metadata={"description": "only when created or reset: shown once, never stored"}
    )


def staff_json(user: StaffUser, *, waiting: bool = False) -> dict[str, Any]:
    """A staff account as the staff API shows it (never its password hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "active": user.active,
        "must_change_password": user.must_change_password,
        "waiting": waiting,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
    }


class AuditQuery(Strict):
    object_type = fields.String(validate=validate.Length(max=40))
    object_id = fields.String(validate=validate.Length(max=80))
    actor = fields.String(validate=validate.Length(max=80))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    cursor = fields.String(validate=validate.Length(max=40))


class AuditPageOut(Schema):
    items = fields.List(fields.Nested(lambda: AuditOut()))
    next_cursor = fields.String(allow_none=True, required=True)


class AuditOut(Schema):
    id = fields.Integer()
    seq = fields.Integer(allow_none=True)
    occurred_at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()


def household_json(session: Session, household: Household, today: date) -> dict[str, Any]:
    """A family with its children, their benefits (what is left on `today`) and cards."""
    children = []
    for child in household.children:
        entitlements = session.scalars(
            select(Entitlement).where(Entitlement.child_id == child.id).order_by(Entitlement.id)
        )
        cards = session.scalars(select(Card).where(Card.child_id == child.id).order_by(Card.id))
        children.append(
            {
                "id": child.id,
                "given_name": child.given_name,
                "family_name": child.family_name,
                "birth_date": child.birth_date,
                "entitlements": [
                    {
                        **entitlement_json(e),
                        "available_cents": left.cents,
                        "available_units": left.units,
                    }
                    for e in entitlements
                    for left in [availability(e, child.birth_date, today)]
                ],
                "cards": [card_json(c) for c in cards],
            }
        )
    return {
        "id": household.id,
        "reference": household.reference,
        "family_name": household.family_name,
        "contact": {
            "street": household.street,
            "postal_code": household.postal_code,
            "city": household.city,
            "email": household.email,
            "phone": household.phone,
            "language": household.language,
        },
        "children": children,
    }


def entitlement_json(e: Entitlement) -> dict[str, Any]:
    """A benefit's state, period and what was approved (the amount of a trip too)."""
    return {
        "id": e.id,
        "category": e.category.value,
        "status": e.status.value,
        "valid_from": e.valid_from,
        "valid_until": e.valid_until,
        "rule": e.rule.value,
        "amount_cents": e.amount_cents,
        "units_total": e.units_total,
        "units_per_day": e.units_per_day,
        "total_cents": e.cap_cents,
    }


def card_json(card: Card) -> dict[str, Any]:
    """A card; its credential only while it is active."""
    return {
        "id": card.id,
        "serial": card.serial.hex(),
        "version": card.version,
        "status": card.status.value,
        "valid_until": card.valid_until,
        "credential": card.credential if card.status.value == "active" else None,
    }


def partner_json(partner: Partner, issuer_id: str) -> dict[str, Any]:
    """A partner as `issuer_id`'s staff see it: its IBAN only if it is the issuer's own."""
    return {
        "id": partner.id,
        "name": partner.name,
        "status": partner.status.value,
        "issuer": partner.issuer_id,
        "iban": partner.iban if partner.issuer_id == issuer_id else None,
        "categories": sorted(
            p.category.value for p in partner.permissions if p.issuer_id == issuer_id
        ),
    }
