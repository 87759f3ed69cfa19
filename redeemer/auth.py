"""Device tokens: `Authorization: Bearer <token>`, looked up by its SHA-256.

Checking a card and booking are the calls a counter makes all day; they take the
device from a short per-process cache, because their own single query checks again
that the device is not revoked and its partner may book (`book`, `check_card`).
Every other call looks the device up afresh.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g
from sqlalchemy import bindparam, select, update

from youcard.clock import utcnow
from youcard.domain.enums import Category
from youcard.domain.models import DeviceToken, Partner, PartnerPermission
from youcard.domain.usability import partner_refusal
from youcard.errors import Unauthorized
from youcard.policy import Counter
from youcard.security import token_hash
from youcard.web import bearer_token, db_session

LAST_USE_RESOLUTION = timedelta(minutes=5)  # write "last used" at most this often per device
CACHE_SECONDS = 30  # how long a worker may reuse a device lookup on the rechecked calls
CACHE_SIZE = 4096
_CACHE = "youcard_device_cache"

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


@dataclass
class _Seen:
    counter: Counter
    last_used_at: datetime | None
    until: float


def authenticate(*, rechecked: bool = False) -> Counter:
    """The device of this request, or Unauthorized / Forbidden.

    `rechecked=True` lets the caller use a recent lookup: only for calls whose own
    query refuses a revoked device or an inactive partner.
    """
    token = bearer_token()
    if token is None:
        raise Unauthorized("A device token is required: Authorization: Bearer <token>.")
    digest = token_hash(token)
    cache: dict[bytes, _Seen] = current_app.extensions.setdefault(_CACHE, {})
    seen = cache.get(digest) if rechecked else None
    if seen is None or seen.until < time.monotonic():
        seen = _look_up(digest)
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        cache[digest] = seen
    counter = seen.counter
    now = utcnow()
    if seen.last_used_at is None or now - seen.last_used_at > LAST_USE_RESOLUTION:
        db_session().execute(
            update(DeviceToken).where(DeviceToken.id == counter.device_id).values(last_used_at=now)
        )
        seen.last_used_at = now
    g.partner_id, g.device_id = counter.partner_id, counter.device_id
    return counter


def _look_up(digest: bytes) -> _Seen:
    rows = db_session().connection().execute(_DEVICE_QUERY, {"token_hash": digest}).all()
    if not rows:
        raise Unauthorized("This device token is not valid.")
    device_id, partner_id, last_used_at, status, name = rows[0][:5]
    refused = partner_refusal(status)
    if refused is not None:
        raise refused
    permissions = frozenset(
        (row.issuer_id, Category(row.category)) for row in rows if row.issuer_id is not None
    )
    return _Seen(
        counter=Counter(partner_id, name, permissions, device_id=device_id),
        last_used_at=last_used_at,
        until=time.monotonic() + CACHE_SECONDS,
    )
