"""The issuer's JSON API under /api/v1 for the city's case-management system.

Staff API tokens (`Authorization: Bearer ycs_…`) act with their staff member's
role; every change goes through the same operations as the pages.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import RAISE

from issuer.kek import kek
from youcard.clock import berlin_date
from youcard.domain.contacts import Contact
from youcard.domain.entitlement_rules import rule_from_amount
from youcard.domain.enums import Category, Role
from youcard.domain.models import (
    Card,
    Child,
    Entitlement,
    Household,
    StaffUser,
)
from youcard.errors import Forbidden, Unauthorized
from youcard.operations import cards as card_ops
from youcard.operations import households as households_ops
from youcard.operations.entitlements import (
    decide_entitlement,
    record_entitlement,
    revoke_entitlement,
)
from youcard.operations.staff_tokens import staff_for_token
from youcard.policy import DECIDERS, RECORDERS, Staff
from youcard.privacy.access_log import record_view
from youcard.reads.household_search import household_page
from youcard.schemas.partner_api import ProblemSchema
from youcard.schemas.staff_api import (
    CardOut,
    ChildIn,
    EntitlementIn,
    EntitlementOut,
    HouseholdIn,
    HouseholdOut,
    HouseholdPageOut,
    ReasonIn,
    SearchIn,
    card_json,
    entitlement_json,
    household_json,
)
from youcard.tenancy import Row, owned
from youcard.web import bearer_token, db_session, now
from youcard.web.cursors import decode_text_cursor, encode_text_cursor
from youcard.web.problems import MEDIA_TYPE as PROBLEM
from youcard.web.smorest import Blueprint

blp = Blueprint(
    "staff_api", __name__, url_prefix="/api/v1", description="Families, children, benefits, cards"
)


def authenticate() -> None:
    """The staff member of the request's API token, as `g.api_staff` (both API blueprints)."""
    token = bearer_token()
    if token is None:
        raise Unauthorized("A staff API token is required: Authorization: Bearer <token>.")
    g.api_staff = staff_for_token(db_session(), token, now=now())


def roles(*roles: Role) -> Any:
    """The route needs one of `roles`: checked before the body is read (403 before 422)."""

    def decorate(view: Any) -> Any:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff(*roles)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def staff(*roles: Role) -> None:
    """Forbidden unless the token's staff member has one of `roles` (before the body is read:
    the operation decides again)."""
    user: StaffUser = g.api_staff
    if roles and user.role not in roles:
        raise Forbidden("Your role may not do this.", code="role_not_permitted")


def mine(model: type[Row], object_id: int, what: str) -> Row:
    """A row of the token's issuer, else NotFound (youcard.tenancy decides)."""
    return owned(db_session(), principal(), model, object_id, what)


def principal() -> Staff:
    """The token's staff member as the operations' principal."""
    return Staff.of(g.api_staff)


ERRORS = [401, 403, 404, 409, 422]


def errors(view: Any) -> Any:
    """Document the shared problem responses on a route."""
    for status in ERRORS:
        view = blp.alt_response(status, schema=ProblemSchema, content_type=PROBLEM)(view)
    return view


@blp.route("/households")
class Households(MethodView):
    @blp.arguments(SearchIn(), location="query", unknown=RAISE)
    @blp.response(200, HouseholdPageOut)
    @errors
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Search families by reference number, family name or a child's name, as typed
        ("yilmaz" finds Yılmaz), by reference, `limit` at a time; `next_cursor` fetches the
        next page, `total` says how many match. GET /households/{id} gives one in full."""
        after = decode_text_cursor(query["cursor"]) if "cursor" in query else None
        page = household_page(
            db_session(),
            by=principal(),
            q=query.get("q") or "",
            limit=query["limit"],
            after=after,
        )
        return {
            "items": [
                {
                    "id": h.id,
                    "reference": h.reference,
                    "family_name": h.family_name,
                    "children": page.children.get(h.id, 0),
                }
                for h in page.households
            ],
            "total": page.total,
            "next_cursor": encode_text_cursor(page.next_after) if page.next_after else None,
        }

    @roles(*RECORDERS)
    @blp.arguments(HouseholdIn())
    @blp.response(201, HouseholdOut)
    @errors
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Record a family (caseworker, administrator)."""
        contact = Contact(**body.pop("contact", {}))
        household = households_ops.create_household(
            db_session(), by=principal(), now=now(), contact=contact, **body
        )
        return household_json(db_session(), household, berlin_date(now()))


@blp.route("/households/<int:household_id>")
class HouseholdOne(MethodView):
    @blp.response(200, HouseholdOut)
    @errors
    def get(self, household_id: int) -> dict[str, Any]:
        """A family with children, entitlements (what is left) and cards."""
        staff()
        household = mine(Household, household_id, "household")
        record_view(
            db_session(),
            by=principal(),
            object_type="household",
            object_id=household.id,
            via="api",
            now=now(),
        )
        return household_json(db_session(), household, berlin_date(now()))


@blp.route("/households/<int:household_id>/children")
class Children(MethodView):
    @roles(*RECORDERS)
    @blp.arguments(ChildIn())
    @blp.response(201, HouseholdOut)
    @errors
    def post(self, body: dict[str, Any], household_id: int) -> dict[str, Any]:
        """Add a child (caseworker, administrator)."""
        staff(*RECORDERS)
        household = mine(Household, household_id, "household")
        households_ops.add_child(
            db_session(), by=principal(), household_id=household.id, now=now(), **body
        )
        db_session().refresh(household)
        return household_json(db_session(), household, berlin_date(now()))


@blp.route("/children/<int:child_id>/entitlements")
class Entitlements(MethodView):
    @roles(*RECORDERS)
    @blp.arguments(EntitlementIn())
    @blp.response(201, EntitlementOut)
    @errors
    def post(self, body: dict[str, Any], child_id: int) -> dict[str, Any]:
        """Record an entitlement; another person approves it (four eyes)."""
        staff(*RECORDERS)
        child = mine(Child, child_id, "child")
        category = Category(body["category"])
        rule = rule_from_amount(category, body.get("amount_cents"))
        e = record_entitlement(
            db_session(),
            child_id=child.id,
            category=category,
            valid_from=body["valid_from"],
            valid_until=body["valid_until"],
            by=principal(),
            now=now(),
            rule=rule,
        )
        return entitlement_json(e)


@blp.route("/entitlements/<int:entitlement_id>/<any(approve, reject, revoke):action>")
class Decide(MethodView):
    @roles(*DECIDERS)
    @blp.arguments(ReasonIn())
    @blp.response(200, EntitlementOut)
    @errors
    def post(self, body: dict[str, Any], entitlement_id: int, action: str) -> dict[str, Any]:
        """Approve, reject (reason) or revoke (reason): never what you recorded yourself."""
        staff(*DECIDERS)
        mine(Entitlement, entitlement_id, "entitlement")
        if action == "revoke":
            e = revoke_entitlement(
                db_session(),
                entitlement_id=entitlement_id,
                by=principal(),
                reason=body.get("reason", ""),
                now=now(),
            )
        else:
            e = decide_entitlement(
                db_session(),
                entitlement_id=entitlement_id,
                approve=action == "approve",
                by=principal(),
                now=now(),
                kek=kek(),
                reason=body.get("reason"),
            )
        return entitlement_json(e)


@blp.route("/children/<int:child_id>/cards")
class Cards(MethodView):
    @roles(*DECIDERS)
    @blp.response(201, CardOut)
    @errors
    def post(self, child_id: int) -> dict[str, Any]:
        """Issue the child's card (approver, administrator): with its YC1 credential."""
        staff(*DECIDERS)
        child = mine(Child, child_id, "child")
        card = card_ops.issue_card(
            db_session(),
            child_id=child.id,
            by=principal(),
            now=now(),
            kek=kek(),
        )
        return card_json(card)


@blp.route("/cards/<int:card_id>/<any(revoke, replace):action>")
class CardBlock(MethodView):
    @roles(*DECIDERS)
    @blp.arguments(ReasonIn())
    @blp.response(200, CardOut)
    @errors
    def post(self, body: dict[str, Any], card_id: int, action: str) -> dict[str, Any]:
        """Block a card, or replace a lost one (the answer is the new card)."""
        staff(*DECIDERS)
        card = mine(Card, card_id, "card")
        reason = body.get("reason", "")
        if action == "revoke":
            result = card_ops.revoke_card(
                db_session(),
                card_id=card.id,
                by=principal(),
                reason=reason,
                now=now(),
            )
        else:
            result = card_ops.replace_card(
                db_session(),
                card_id=card.id,
                by=principal(),
                reason=reason,
                now=now(),
                kek=kek(),
            )
        return card_json(result)


blp.before_request(authenticate)
