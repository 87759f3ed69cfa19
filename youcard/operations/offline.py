"""The counter without signal (docs/offline.md): the issuer's offline limit per category,
set by its administrators, and the 24-hour allowance a counter fetches while online.

An allowance names what one counter may book offline on one card in one category on one
day: the issuer's limit (none set: 0, offline booking off). The counter keeps it with the
server's time; the booking it makes offline names it (youcard.operations.booking.offline).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from youcard import audit
from youcard.db import Session, upsert
from youcard.domain.enums import Category
from youcard.domain.models import OfflineAllowance, OfflineLimit
from youcard.errors import InvalidRequest
from youcard.operations.booking import is_int
from youcard.policy import ADMINISTRATORS, Counter, Staff, require_role

ALLOWANCE_VALIDITY = timedelta(hours=24)
# A counter asks every 5 minutes while online; a new allowance (a new row) once an hour.
ALLOWANCE_RENEWAL = timedelta(hours=1)
MAX_LIMIT_CENTS = 100_000  # 1,000 EUR a card and day: a day's trip, far above a lunch
_DEVICE_KEY_LENGTH = 32  # a browser counter's own random name, hex


def set_offline_limit(
    session: Session, *, by: Staff, category: Category | str, cents: object, now: datetime
) -> None:
    """Set what a counter may book offline on one card in `category` on one day (0: offline
    booking off in that category). Administrators only; audited with the value before."""
    require_role(by, ADMINISTRATORS, "set the offline limits")
    try:
        category = Category(category)
    except ValueError:
        raise InvalidRequest("Unknown category.", code="invalid_category") from None
    if not is_int(cents) or not 0 <= cents <= MAX_LIMIT_CENTS:  # type: ignore[operator]
        raise InvalidRequest(
            "The offline limit must be whole cents from 0 to 1,000 €.", code="invalid_amount"
        )
    before = session.get(OfflineLimit, (by.issuer_id, category))
    old = before.cents_per_card_day if before is not None else 0
    if old == cents:
        return
    values = {"cents_per_card_day": cents, "set_by": by.actor, "set_at": now}
    session.execute(
        upsert(session, OfflineLimit.__table__)
        .values(issuer_id=by.issuer_id, category=category.value, **values)
        .on_conflict_do_update(index_elements=["issuer_id", "category"], set_=values)
    )
    session.expire_all()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="offline_limit.set",
        object_type="issuer",
        object_id=by.issuer_id,
        now=now,
        data={"category": category.value, "cents_per_card_day": cents, "before": old},
    )


@dataclass(frozen=True)
class Allowance:
    """An allowance as the counter gets it (GET /api/v1/offline-policy)."""

    id: str
    issued_at: datetime
    valid_until: datetime
    server_time: datetime
    limits: dict[str, dict[str, int]]  # issuer -> category -> cents a card and day
    signature: str


def device_key(by: Counter, browser_key: object = None) -> str:
    """Which counter asks: a device token is its own; a browser of the partner's staff
    names itself with a random key it keeps (`browser_key`, 32 hex digits)."""
    if by.device_id is not None:
        return f"device:{by.device_id}"
    if (
        not isinstance(browser_key, str)
        or len(browser_key) != _DEVICE_KEY_LENGTH
        or any(c not in "0123456789abcdef" for c in browser_key)
    ):
        raise InvalidRequest("This counter has no valid name.", code="invalid_device_key")
    return f"browser:{browser_key}"


def issue_allowance(
    session: Session, *, by: Counter, key: str, secret: bytes, now: datetime
) -> Allowance:
    """The counter's allowance for the next 24 hours: its latest when that is less than an
    hour old and its limits have not changed, else a new one. Signed (HMAC-SHA256 with a
    key derived from `secret`, the service's secret key) over what it grants."""
    limits = _limits_for(session, by)
    text = json.dumps(limits, sort_keys=True, separators=(",", ":"))
    latest = session.scalars(
        select(OfflineAllowance)
        .where(OfflineAllowance.partner_id == by.partner_id, OfflineAllowance.device_key == key)
        .order_by(OfflineAllowance.issued_at.desc())
        .limit(1)
    ).first()
    if latest is None or latest.limits != text or now - latest.issued_at >= ALLOWANCE_RENEWAL:
        latest = OfflineAllowance(
            id=secrets.token_hex(16),
            partner_id=by.partner_id,
            device_token_id=by.device_id,
            partner_user_id=by.partner_user_id,
            device_key=key,
            issued_at=now,
            valid_until=now + ALLOWANCE_VALIDITY,
            limits=text,
        )
        latest.signature = _signature(secret, latest)
        session.add(latest)
        session.flush()
    return Allowance(
        id=latest.id,
        issued_at=latest.issued_at,
        valid_until=latest.valid_until,
        server_time=now,
        limits=json.loads(latest.limits),
        signature=latest.signature,
    )


def _limits_for(session: Session, by: Counter) -> dict[str, dict[str, int]]:
    """Every issuer and category the counter may book, with the issuer's offline limit."""
    issuers = by.issuers
    set_limits = {
        (row.issuer_id, row.category): row.cents_per_card_day
        for row in session.scalars(select(OfflineLimit).where(OfflineLimit.issuer_id.in_(issuers)))
    }
    limits: dict[str, dict[str, int]] = {}
    for issuer_id, category in sorted(by.permissions):
        limits.setdefault(issuer_id, {})[category.value] = set_limits.get((issuer_id, category), 0)
    return limits


def _signature(secret: bytes, allowance: OfflineAllowance) -> str:
    signed = "|".join(
        [
            allowance.id,
            str(allowance.partner_id),
            allowance.device_key,
            allowance.issued_at.isoformat(),
            allowance.valid_until.isoformat(),
            allowance.limits,
        ]
    )
    key = hashlib.sha256(b"youcard offline allowance\0" + secret).digest()
    return hmac.new(key, signed.encode(), hashlib.sha256).hexdigest()


def allowance_is_genuine(allowance: OfflineAllowance, secret: bytes) -> bool:
    """Whether the stored allowance is the one that was signed (nobody changed its limits)."""
    return hmac.compare_digest(allowance.signature, _signature(secret, allowance))
