"""Device tokens: `Authorization: Bearer <token>`, looked up by its SHA-256."""

from __future__ import annotations

from datetime import timedelta

from flask import g
from sqlalchemy import bindparam, select, update

from redeemer.counter import Counter
from youcard.clock import utcnow
from youcard.enums import Category, PartnerStatus
from youcard.errors import DomainError, Forbidden
from youcard.models import DeviceToken, Partner, PartnerPermission
from youcard.security import token_hash
from youcard.web import bearer_token, db_session

LAST_USE_RESOLUTION = timedelta(minutes=5)  # write "last used" at most this often per device


class Unauthorized(DomainError):
    """No valid device token."""

    code = "unauthorized"
    http_status = 401


_DEVICE_QUERY = (
    select(
        DeviceToken.id,
        DeviceToken.partner_id,
        DeviceToken.last_used_at,
        Partner.status,
        Partner.name,
        PartnerPermission.issuer_id,
        PartnerPermission.category,
    )
    .join(Partner, Partner.id == DeviceToken.partner_id)
    .outerjoin(PartnerPermission, PartnerPermission.partner_id == Partner.id)
    .where(DeviceToken.token_hash == bindparam("token_hash"), DeviceToken.revoked_at.is_(None))
)


def authenticate() -> Counter:
    """The device of this request, or Unauthorized / Forbidden."""
    token = bearer_token()
    if token is None:
        raise Unauthorized("A device token is required: Authorization: Bearer <token>.")
    session = db_session()
    now = utcnow()
    rows = session.connection().execute(_DEVICE_QUERY, {"token_hash": token_hash(token)}).all()
    if not rows:
        raise Unauthorized("This device token is not valid.")
    device_id, partner_id, last_used_at, status, name = rows[0][:5]
    if status is not PartnerStatus.ACTIVE:
        raise Forbidden("This partner may not book at present.", code="partner_inactive")
    permissions = frozenset(
        (row.issuer_id, Category(row.category)) for row in rows if row.issuer_id is not None
    )
    if last_used_at is None or now - last_used_at > LAST_USE_RESOLUTION:
        session.execute(
            update(DeviceToken).where(DeviceToken.id == device_id).values(last_used_at=now)
        )
    g.partner_id, g.device_id = partner_id, device_id
    return Counter(partner_id, name, permissions, device_id=device_id)
