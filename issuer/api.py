"""The issuer's JSON API under /api/v1 for the city's case-management system.

Staff API tokens (`Authorization: Bearer ycs_…`) act with their staff member's
role; every change goes through the same operations as the pages.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import or_, select, update

from issuer.kek import kek
from youcard import keys, trust
from youcard.budget import BudgetRule
from youcard.clock import berlin_date
from youcard.credentials import b64url
from youcard.enums import Category, PartnerStatus, Role, RuleKind
from youcard.errors import Forbidden, NotFound, Unauthorized
from youcard.models import (
    AuditEvent,
    Card,
    Child,
    Entitlement,
    Household,
    Partner,
    StaffToken,
    StaffUser,
)
from youcard.operations import cards as card_ops
from youcard.operations import households as households_ops
from youcard.operations import partners
from youcard.operations.entitlements import (
    availability,
    decide_entitlement,
    record_entitlement,
    revoke_entitlement,
)
from youcard.policy import ADMINISTRATORS, DECIDERS, RECORDERS
from youcard.schemas.fields import Day
from youcard.schemas.partner_api import ProblemSchema
from youcard.security import token_hash
from youcard.web import bearer_token, db_session, now
from youcard.web.problems import MEDIA_TYPE as PROBLEM
from youcard.web.smorest import Blueprint

blp = Blueprint("staff_api", __name__, url_prefix="/api/v1", description="Case management")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class HouseholdIn(Strict):
    reference = fields.String(required=True, validate=validate.Length(min=1, max=60))
    family_name = fields.String(required=True, validate=validate.Length(min=1, max=200))


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


class EntitlementOut(Schema):
    id = fields.Integer()
    category = fields.String()
    status = fields.String()
    valid_from = Day()
    valid_until = Day()
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


class HouseholdOut(Schema):
    id = fields.Integer()
    reference = fields.String()
    family_name = fields.String()
    children = fields.List(fields.Nested(ChildOut))


@blp.before_request
def _authenticate() -> None:
    token = bearer_token()
    if token is None:
        raise Unauthorized("A staff API token is required: Authorization: Bearer <token>.")
    found = (
        db_session()
        .execute(
            select(StaffToken, StaffUser)
            .join(StaffUser, StaffUser.id == StaffToken.staff_user_id)
            .where(
                StaffToken.token_hash == token_hash(token.strip()), StaffToken.revoked_at.is_(None)
            )
        )
        .one_or_none()
    )
    if found is None or not found[1].active:
        raise Unauthorized("This staff API token is not valid.")
    row, user = found
    at = now()
    if row.last_used_at is None or at - row.last_used_at > timedelta(minutes=5):
        db_session().execute(
            update(StaffToken).where(StaffToken.id == row.id).values(last_used_at=at)
        )
    g.api_staff = user


def _roles(*roles: Role) -> Any:
    """The route needs one of `roles`: checked before the body is read (403 before 422)."""

    def decorate(view: Any) -> Any:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _staff(*roles)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _staff(*roles: Role) -> StaffUser:
    user: StaffUser = g.api_staff
    if roles and user.role not in roles:
        raise Forbidden("Your role may not do this.", code="role_not_permitted")
    return user


def _mine(model: Any, object_id: int, what: str) -> Any:
    row = db_session().get(model, object_id)
    if row is None or row.issuer_id != g.api_staff.issuer_id:
        raise NotFound(f"No such {what}.", code=f"{what}_not_found")
    return row


def _actor() -> str:
    return f"staff:{g.api_staff.id}"


def _household_json(household: Household) -> dict[str, Any]:
    today = berlin_date(now())
    children = []
    for child in household.children:
        entitlements = db_session().scalars(
            select(Entitlement).where(Entitlement.child_id == child.id).order_by(Entitlement.id)
        )
        cards = db_session().scalars(
            select(Card).where(Card.child_id == child.id).order_by(Card.id)
        )
        children.append(
            {
                "id": child.id,
                "given_name": child.given_name,
                "family_name": child.family_name,
                "birth_date": child.birth_date,
                "entitlements": [
                    {
                        **_entitlement_json(e),
                        "available_cents": left.cents,
                        "available_units": left.units,
                    }
                    for e in entitlements
                    for left in [availability(e, child.birth_date, today)]
                ],
                "cards": [_card_json(c) for c in cards],
            }
        )
    return {
        "id": household.id,
        "reference": household.reference,
        "family_name": household.family_name,
        "children": children,
    }


def _entitlement_json(e: Entitlement) -> dict[str, Any]:
    return {
        "id": e.id,
        "category": e.category.value,
        "status": e.status.value,
        "valid_from": e.valid_from,
        "valid_until": e.valid_until,
    }


def _card_json(card: Card) -> dict[str, Any]:
    return {
        "id": card.id,
        "serial": card.serial.hex(),
        "version": card.version,
        "status": card.status.value,
        "valid_until": card.valid_until,
        "credential": card.credential if card.status.value == "active" else None,
    }


ERRORS = [401, 403, 404, 409, 422]


def _errors(view: Any) -> Any:
    for status in ERRORS:
        view = blp.alt_response(status, schema=ProblemSchema, content_type=PROBLEM)(view)
    return view


@blp.route("/households")
class Households(MethodView):
    @blp.arguments(SearchIn(), location="query", unknown=RAISE)
    @blp.response(200, HouseholdOut(many=True))
    @_errors
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Search families by reference number or family name (at most 100)."""
        _staff()
        stmt = select(Household).where(Household.issuer_id == g.api_staff.issuer_id)
        if query.get("q"):
            like = f"%{query['q'].lower()}%"
            stmt = stmt.where(
                or_(Household.reference.ilike(like), Household.family_name.ilike(like))
            )
        return [
            _household_json(h) for h in db_session().scalars(stmt.order_by(Household.id).limit(100))
        ]

    @_roles(*RECORDERS)
    @blp.arguments(HouseholdIn())
    @blp.response(201, HouseholdOut)
    @_errors
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Record a family (caseworker, administrator)."""
        user = _staff(*RECORDERS)
        household = households_ops.create_household(
            db_session(), issuer_id=user.issuer_id, actor=_actor(), now=now(), **body
        )
        return _household_json(household)


@blp.route("/households/<int:household_id>")
class HouseholdOne(MethodView):
    @blp.response(200, HouseholdOut)
    @_errors
    def get(self, household_id: int) -> dict[str, Any]:
        """A family with children, entitlements (what is left) and cards."""
        _staff()
        return _household_json(_mine(Household, household_id, "household"))


@blp.route("/households/<int:household_id>/children")
class Children(MethodView):
    @_roles(*RECORDERS)
    @blp.arguments(ChildIn())
    @blp.response(201, HouseholdOut)
    @_errors
    def post(self, body: dict[str, Any], household_id: int) -> dict[str, Any]:
        """Add a child (caseworker, administrator)."""
        _staff(*RECORDERS)
        household = _mine(Household, household_id, "household")
        households_ops.add_child(
            db_session(), household_id=household.id, actor=_actor(), now=now(), **body
        )
        db_session().refresh(household)
        return _household_json(household)


@blp.route("/children/<int:child_id>/entitlements")
class Entitlements(MethodView):
    @_roles(*RECORDERS)
    @blp.arguments(EntitlementIn())
    @blp.response(201, EntitlementOut)
    @_errors
    def post(self, body: dict[str, Any], child_id: int) -> dict[str, Any]:
        """Record an entitlement; another person approves it (four eyes)."""
        user = _staff(*RECORDERS)
        child = _mine(Child, child_id, "child")
        rule = BudgetRule(RuleKind.TOTAL, body["amount_cents"]) if "amount_cents" in body else None
        e = record_entitlement(
            db_session(),
            child_id=child.id,
            category=Category(body["category"]),
            valid_from=body["valid_from"],
            valid_until=body["valid_until"],
            recorded_by=user,
            now=now(),
            rule=rule,
        )
        return _entitlement_json(e)


@blp.route("/entitlements/<int:entitlement_id>/<any(approve, reject, revoke):action>")
class Decide(MethodView):
    @_roles(*DECIDERS)
    @blp.arguments(ReasonIn())
    @blp.response(200, EntitlementOut)
    @_errors
    def post(self, body: dict[str, Any], entitlement_id: int, action: str) -> dict[str, Any]:
        """Approve, reject (reason) or revoke (reason): never what you recorded yourself."""
        user = _staff(*DECIDERS)
        _mine(Entitlement, entitlement_id, "entitlement")
        if action == "revoke":
            e = revoke_entitlement(
                db_session(),
                entitlement_id=entitlement_id,
                revoked_by=user,
                reason=body.get("reason", ""),
                now=now(),
            )
        else:
            e = decide_entitlement(
                db_session(),
                entitlement_id=entitlement_id,
                approve=action == "approve",
                decided_by=user,
                now=now(),
                reason=body.get("reason"),
            )
        return _entitlement_json(e)


@blp.route("/children/<int:child_id>/cards")
class Cards(MethodView):
    @_roles(*DECIDERS)
    @blp.response(201, CardOut)
    @_errors
    def post(self, child_id: int) -> dict[str, Any]:
        """Issue the child's card (approver, administrator): with its YC1 credential."""
        _staff(*DECIDERS)
        child = _mine(Child, child_id, "child")
        card = card_ops.issue_card(
            db_session(),
            child_id=child.id,
            issuer_id=child.issuer_id,
            actor=_actor(),
            now=now(),
            kek=kek(),
        )
        return _card_json(card)


@blp.route("/cards/<int:card_id>/<any(revoke, replace):action>")
class CardBlock(MethodView):
    @_roles(*DECIDERS)
    @blp.arguments(ReasonIn())
    @blp.response(200, CardOut)
    @_errors
    def post(self, body: dict[str, Any], card_id: int, action: str) -> dict[str, Any]:
        """Block a card, or replace a lost one (the answer is the new card)."""
        _staff(*DECIDERS)
        card = _mine(Card, card_id, "card")
        reason = body.get("reason", "")
        if action == "revoke":
            result = card_ops.revoke_card(
                db_session(),
                card_id=card.id,
                issuer_id=card.issuer_id,
                reason=reason,
                actor=_actor(),
                now=now(),
            )
        else:
            result = card_ops.replace_card(
                db_session(),
                card_id=card.id,
                issuer_id=card.issuer_id,
                reason=reason,
                actor=_actor(),
                now=now(),
                kek=kek(),
            )
        return _card_json(result)


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


class AuditQuery(Strict):
    object_type = fields.String(validate=validate.Length(max=40))
    object_id = fields.String(validate=validate.Length(max=80))
    actor = fields.String(validate=validate.Length(max=80))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditOut(Schema):
    id = fields.Integer()
    seq = fields.Integer(allow_none=True)
    occurred_at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()


def _partner_json(partner: Partner) -> dict[str, Any]:
    issuer_id = g.api_staff.issuer_id
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


@blp.route("/partners")
class Partners(MethodView):
    @blp.response(200, PartnerOut(many=True))
    @_errors
    def get(self) -> list[dict[str, Any]]:
        """This issuer's partners (administrators)."""
        user = _staff(*ADMINISTRATORS)
        rows = db_session().scalars(
            select(Partner).where(Partner.issuer_id == user.issuer_id).order_by(Partner.name)
        )
        return [_partner_json(p) for p in rows]

    @_roles(*ADMINISTRATORS)
    @blp.arguments(PartnerIn())
    @blp.response(201, PartnerOut)
    @_errors
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a partner (pending until approved); the IBAN is checked."""
        user = _staff(*ADMINISTRATORS)
        partner = partners.create_partner(
            db_session(),
            issuer_id=user.issuer_id,
            name=body["name"],
            iban=body["iban"],
            permissions={user.issuer_id: {Category(c) for c in body["categories"]}},
            actor=_actor(),
            now=now(),
        )
        return _partner_json(partner)


@blp.route("/partners/<int:partner_id>/<any(active, suspended):status>")
class PartnerStatusRoute(MethodView):
    @_roles(*ADMINISTRATORS)
    @blp.response(200, PartnerOut)
    @_errors
    def post(self, partner_id: int, status: str) -> dict[str, Any]:
        """Approve (active) or suspend one of this issuer's partners."""
        partner = partners.set_partner_status(
            db_session(),
            partner_id=partner_id,
            issuer_id=g.api_staff.issuer_id,
            status=PartnerStatus(status),
            actor=_actor(),
            now=now(),
        )
        return _partner_json(partner)


@blp.route("/partners/<int:partner_id>/permissions")
class PartnerPermissionsRoute(MethodView):
    @_roles(*ADMINISTRATORS)
    @blp.arguments(PermissionsIn())
    @blp.response(200, PartnerOut)
    @_errors
    def post(self, body: dict[str, Any], partner_id: int) -> dict[str, Any]:
        """What a partner (ours or another issuer's active one) may book on our cards."""
        partner = db_session().get(Partner, partner_id)
        if partner is None or (
            partner.issuer_id != g.api_staff.issuer_id and partner.status != PartnerStatus.ACTIVE
        ):
            raise NotFound("No such partner.", code="partner_not_found")
        partners.set_partner_permissions(
            db_session(),
            partner_id=partner.id,
            issuer_id=g.api_staff.issuer_id,
            categories={Category(c) for c in body["categories"]},
            actor=_actor(),
            now=now(),
        )
        return _partner_json(partner)


@blp.route("/partners/<int:partner_id>/tokens")
class PartnerTokens(MethodView):
    @_roles(*ADMINISTRATORS)
    @blp.arguments(NameIn())
    @blp.response(201, DeviceOut)
    @_errors
    def post(self, body: dict[str, Any], partner_id: int) -> dict[str, Any]:
        """A device token for one of our partners: in this answer only, stored hashed."""
        partner = _mine(Partner, partner_id, "partner")
        made = partners.create_device_token(
            db_session(), partner_id=partner.id, name=body["name"], actor=_actor(), now=now()
        )
        return {"id": made.device.id, "name": made.device.name, "token": made.token}


@blp.route("/devices/<int:device_id>/revoke")
class DeviceRevoke(MethodView):
    @_roles(*ADMINISTRATORS)
    @blp.response(200, DeviceOut)
    @_errors
    def post(self, device_id: int) -> dict[str, Any]:
        """Revoke a device token: it stops working at once."""
        device = partners.revoke_device_token(
            db_session(),
            device_id=device_id,
            issuer_id=g.api_staff.issuer_id,
            actor=_actor(),
            now=now(),
        )
        return {"id": device.id, "name": device.name}


@blp.route("/keys")
class Keys(MethodView):
    @blp.response(200, KeyOut(many=True))
    @_errors
    def get(self) -> list[dict[str, Any]]:
        """This issuer's signing keys (administrators)."""
        user = _staff(*ADMINISTRATORS)
        return [
            {
                "kid": k.kid,
                "status": k.status.value,
                "created_at": k.created_at,
                "last_card_valid_until": k.last_card_valid_until,
            }
            for k in trust.list_keys(db_session())
            if k.issuer_id == user.issuer_id
        ]


@blp.route("/keys/rotate")
class KeyRotate(MethodView):
    @_roles(*ADMINISTRATORS)
    @blp.response(201, KeyOut)
    @_errors
    def post(self) -> dict[str, Any]:
        """A new active signing key; the old one keeps verifying its cards."""
        key = keys.rotate_key(
            db_session(), issuer_id=g.api_staff.issuer_id, kek=kek(), actor=_actor(), now=now()
        )
        return {
            "kid": b64url(key.kid),
            "status": key.status.value,
            "created_at": key.created_at,
            "last_card_valid_until": None,
        }


@blp.route("/audit")
class AuditLog(MethodView):
    @blp.arguments(AuditQuery(), location="query", unknown=RAISE)
    @blp.response(200, AuditOut(many=True))
    @_errors
    def get(self, query: dict[str, Any]) -> list[AuditEvent]:
        """This issuer's audit events, newest first, filtered by object and actor."""
        user = _staff(*ADMINISTRATORS)
        stmt = select(AuditEvent).where(AuditEvent.issuer_id == user.issuer_id)
        for key in ("object_type", "object_id", "actor"):
            if query.get(key):
                stmt = stmt.where(getattr(AuditEvent, key) == query[key])
        return list(db_session().scalars(stmt.order_by(AuditEvent.id.desc()).limit(query["limit"])))
