"""The issuer's JSON API for administrators: partners, device tokens, keys, the audit log.

Staff API tokens (`Authorization: Bearer ycs_…`) act with their staff member's
role; every change goes through the same operations as the pages.
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import RAISE

from issuer.api import authenticate, errors, mine, principal, roles
from issuer.kek import kek
from youcard.credentials import b64url, keys, trust
from youcard.domain.enums import Category, PartnerStatus
from youcard.domain.models import (
    Partner,
)
from youcard.operations import partners
from youcard.policy import ADMINISTRATORS
from youcard.reads.audit_log import audit_events
from youcard.reads.partners import own_partners
from youcard.schemas.staff_api import (
    AuditPageOut,
    AuditQuery,
    DeviceOut,
    KeyOut,
    NameIn,
    PartnerIn,
    PartnerOut,
    PermissionsIn,
    partner_json,
)
from youcard.web import db_session, now
from youcard.web.cursors import decode_cursor, encode_cursor
from youcard.web.smorest import Blueprint

blp = Blueprint(
    "staff_admin_api", __name__, url_prefix="/api/v1", description="Partners, keys, audit"
)
blp.before_request(authenticate)


@blp.route("/partners")
class Partners(MethodView):
    @blp.response(200, PartnerOut(many=True))
    @errors
    def get(self) -> list[dict[str, Any]]:
        """This issuer's partners (administrators)."""
        rows = own_partners(db_session(), by=principal())
        return [partner_json(p, g.api_staff.issuer_id) for p in rows]

    @roles(*ADMINISTRATORS)
    @blp.arguments(PartnerIn())
    @blp.response(201, PartnerOut)
    @errors
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a partner (pending until approved); the IBAN is checked."""
        by = principal()
        partner = partners.create_partner(
            db_session(),
            by=by,
            name=body["name"],
            iban=body["iban"],
            permissions={by.issuer_id: {Category(c) for c in body["categories"]}},
            now=now(),
        )
        return partner_json(partner, g.api_staff.issuer_id)


@blp.route("/partners/<int:partner_id>/<any(active, suspended):status>")
class PartnerStatusRoute(MethodView):
    @roles(*ADMINISTRATORS)
    @blp.response(200, PartnerOut)
    @errors
    def post(self, partner_id: int, status: str) -> dict[str, Any]:
        """Approve (active) or suspend one of this issuer's partners."""
        partner = partners.set_partner_status(
            db_session(),
            partner_id=partner_id,
            by=principal(),
            status=PartnerStatus(status),
            now=now(),
        )
        return partner_json(partner, g.api_staff.issuer_id)


@blp.route("/partners/<int:partner_id>/permissions")
class PartnerPermissionsRoute(MethodView):
    @roles(*ADMINISTRATORS)
    @blp.arguments(PermissionsIn())
    @blp.response(200, PartnerOut)
    @errors
    def post(self, body: dict[str, Any], partner_id: int) -> dict[str, Any]:
        """What a partner (ours or another issuer's active one) may book on our cards."""
        partner = partners.set_partner_permissions(
            db_session(),
            partner_id=partner_id,
            by=principal(),
            categories={Category(c) for c in body["categories"]},
            now=now(),
        )
        return partner_json(partner, g.api_staff.issuer_id)


@blp.route("/partners/<int:partner_id>/tokens")
class PartnerTokens(MethodView):
    @roles(*ADMINISTRATORS)
    @blp.arguments(NameIn())
    @blp.response(201, DeviceOut)
    @errors
    def post(self, body: dict[str, Any], partner_id: int) -> dict[str, Any]:
        """A device token for one of our partners: in this answer only, stored hashed."""
        partner = mine(Partner, partner_id, "partner")
        made = partners.create_device_token(
            db_session(), by=principal(), partner_id=partner.id, name=body["name"], now=now()
        )
        return {"id": made.device.id, "name": made.device.name, "token": made.token}


@blp.route("/devices/<int:device_id>/revoke")
class DeviceRevoke(MethodView):
    @roles(*ADMINISTRATORS)
    @blp.response(200, DeviceOut)
    @errors
    def post(self, device_id: int) -> dict[str, Any]:
        """Revoke a device token: it stops working at once."""
        device = partners.revoke_device_token(
            db_session(),
            device_id=device_id,
            by=principal(),
            now=now(),
        )
        return {"id": device.id, "name": device.name}


@blp.route("/keys")
class Keys(MethodView):
    @blp.response(200, KeyOut(many=True))
    @errors
    def get(self) -> list[dict[str, Any]]:
        """This issuer's signing keys (administrators)."""
        return [
            {
                "kid": k.kid,
                "status": k.status.value,
                "created_at": k.created_at,
                "last_card_valid_until": k.last_card_valid_until,
            }
            for k in trust.issuer_keys(db_session(), by=principal())
        ]


@blp.route("/keys/rotate")
class KeyRotate(MethodView):
    @roles(*ADMINISTRATORS)
    @blp.response(201, KeyOut)
    @errors
    def post(self) -> dict[str, Any]:
        """A new active signing key; the old one keeps verifying its cards."""
        key = keys.rotate_key(db_session(), by=principal(), kek=kek(), now=now())
        return {
            "kid": b64url(key.kid),
            "status": key.status.value,
            "created_at": key.created_at,
            "last_card_valid_until": None,
        }


@blp.route("/audit")
class AuditLog(MethodView):
    @blp.arguments(AuditQuery(), location="query", unknown=RAISE)
    @blp.response(200, AuditPageOut)
    @errors
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """This issuer's audit events, newest first, filtered by object and actor, `limit`
        at a time; `next_cursor` fetches the older ones."""
        page = audit_events(
            db_session(),
            by=principal(),
            limit=query["limit"],
            filters={k: query[k] for k in ("object_type", "object_id", "actor") if query.get(k)},
            before=decode_cursor(query["cursor"]) if "cursor" in query else None,
        )
        cursor = encode_cursor(page.next_before) if page.next_before is not None else None
        return {"items": page.events, "next_cursor": cursor}
