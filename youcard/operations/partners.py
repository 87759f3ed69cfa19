"""Partners: create, suspend, their permissions per issuer and category, staff logins and
device tokens.

The caller (a view or the CLI) checks who may call them and passes its identity as
`actor` for the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from youcard import audit, security
from youcard.db import Session, refusing_duplicates
from youcard.domain.enums import Category, PartnerStatus
from youcard.domain.models import (
    DeviceToken,
    Issuer,
    Partner,
    PartnerPermission,
    PartnerServiceRequest,
    PartnerUser,
)
from youcard.errors import Conflict, Forbidden, NotFound
from youcard.operations.values import clean_name, clean_text, password_hash_of, valid_iban
from youcard.policy import ADMINISTRATORS, Counter, Staff, require_role
from youcard.tenancy import partner_to_accept

DEVICE_TOKEN_PREFIX = "ycd"  # noqa: S105 - a public prefix, not a secret


def set_partner_status(
    session: Session,
    *,
    partner_id: int,
    by: Staff,
    status: PartnerStatus,
    now: datetime,
) -> Partner:
    """Approve (activate) or suspend a partner of this issuer."""
    require_role(by, ADMINISTRATORS, "approve or suspend partners")
    partner = session.get(Partner, partner_id)
    if partner is None or partner.issuer_id != by.issuer_id:
        raise NotFound("No such partner.", code="partner_not_found")
    partner.status = status
    session.flush()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action=f"partner.{status.value}",
        object_type="partner",
        object_id=partner.id,
        now=now,
    )
    return partner


def revoke_device_token(
    session: Session, *, by: Staff, device_id: int, now: datetime
) -> DeviceToken:
    """A device token stops working at once (revoking twice is harmless)."""
    require_role(by, ADMINISTRATORS, "revoke device tokens")
    device = session.get(DeviceToken, device_id)
    partner = session.get(Partner, device.partner_id) if device else None
    if device is None or partner is None or partner.issuer_id != by.issuer_id:
        raise NotFound("No such device.", code="device_not_found")
    if device.revoked_at is None:
        device.revoked_at = now
        session.flush()
        audit.record(
            session,
            issuer_id=by.issuer_id,
            actor=by.actor,
            action="device_token.revoke",
            object_type="device_token",
            object_id=device.id,
            now=now,
        )
    return device


def create_partner(
    session: Session,
    *,
    by: Staff,
    name: str,
    iban: str,
    permissions: dict[str, set[Category]],
    now: datetime,
    active: bool = False,
) -> Partner:
    """A provider managed by the principal's issuer, allowed `permissions[issuer] =
    {categories}`; only the principal's own issuer can be among them."""
    require_role(by, ADMINISTRATORS, "create partners")
    if set(permissions) - {by.issuer_id}:
        raise Forbidden(
            "An issuer decides only what partners may book on its own cards.",
            code="permission_for_other_issuer",
        )
    partner = Partner(
        issuer_id=by.issuer_id,
        name=clean_name(name, "name"),
        iban=valid_iban(iban),
        status=PartnerStatus.ACTIVE if active else PartnerStatus.PENDING,
        created_at=now,
    )
    partner.permissions = [
        PartnerPermission(issuer_id=perm_issuer, category=category)
        for perm_issuer, categories in sorted(permissions.items())
        for category in sorted(categories)
    ]
    session.add(partner)
    session.flush()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="partner.create",
        object_type="partner",
        object_id=partner.id,
        now=now,
        data={
            "name": partner.name,
            "status": partner.status.value,
            "permissions": {k: sorted(c.value for c in v) for k, v in permissions.items()},
        },
    )
    return partner


def create_partner_user(
    session: Session,
    *,
    by: Staff,
    partner_id: int,
    username: str,
    display_name: str,
    password: str,
    now: datetime,
) -> PartnerUser:
    """A login for the staff of one of the principal's issuer's partners (scanner page)."""
    require_role(by, ADMINISTRATORS, "create partner logins")
    partner = session.get(Partner, partner_id)
    if partner is None or partner.issuer_id != by.issuer_id:
        raise NotFound("No such partner.", code="partner_not_found")
    user = PartnerUser(
        partner_id=partner.id,
        username=clean_text(username, "username", 80).lower(),
        display_name=clean_name(display_name, "display_name"),
        password_hash=password_hash_of(password, context=[username, display_name]),
        active=True,
        created_at=now,
    )
    with refusing_duplicates(
        session, lambda: Conflict("This username is already in use.", code="username_taken")
    ):
        session.add(user)
    audit.record(
        session,
        issuer_id=partner.issuer_id,
        actor=by.actor,
        action="partner_user.create",
        object_type="partner_user",
        object_id=user.id,
        now=now,
        data={"username": user.username},
    )
    return user


@dataclass(frozen=True)
class NewDeviceToken:
    """A device token as created: `token` is shown once and never stored."""

    device: DeviceToken
    token: str


def create_device_token(
    session: Session,
    *,
    by: Staff,
    partner_id: int,
    name: str,
    now: datetime,
    token: str | None = None,
) -> NewDeviceToken:
    """A new API token for a scanner device of one of the principal's issuer's partners;
    only its hash is kept."""
    require_role(by, ADMINISTRATORS, "create device tokens")
    partner = session.get(Partner, partner_id)
    if partner is None or partner.issuer_id != by.issuer_id:
        raise NotFound("No such partner.", code="partner_not_found")
    token = token or security.new_token(DEVICE_TOKEN_PREFIX)
    device = DeviceToken(
        partner_id=partner.id,
        name=clean_text(name, "name", 100),
        token_hash=security.token_hash(token),
        created_at=now,
    )
    session.add(device)
    session.flush()
    audit.record(
        session,
        issuer_id=partner.issuer_id,
        actor=by.actor,
        action="device_token.create",
        object_type="device_token",
        object_id=device.id,
        now=now,
        data={"name": device.name},
    )
    return NewDeviceToken(device=device, token=token)


def set_partner_permissions(
    session: Session,
    *,
    partner_id: int,
    by: Staff,
    categories: set[Category],
    now: datetime,
) -> Partner:
    """What the partner may book on the principal's issuer's cards: only that issuer decides.

    A partner registered by another issuer can be accepted here too (a club in the
    neighbouring town); an empty set withdraws the acceptance.
    """
    require_role(by, ADMINISTRATORS, "accept partners")
    partner = partner_to_accept(session, by, partner_id)
    kept = [p for p in partner.permissions if p.issuer_id != by.issuer_id]
    partner.permissions = kept + [
        PartnerPermission(issuer_id=by.issuer_id, category=c) for c in sorted(categories)
    ]
    session.flush()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="partner.permissions",
        object_type="partner",
        object_id=partner.id,
        now=now,
        data={"categories": sorted(c.value for c in categories)},
    )
    return partner


def ask_to_serve(
    session: Session, *, by: Counter, issuer_id: str, now: datetime
) -> PartnerServiceRequest:
    """The partner asks `issuer_id` to accept it for that issuer's cards; that issuer's
    administrators can then find it and set its permissions. Asking again changes nothing.
    An unknown issuer, or the partner's own, is NotFound."""
    partner = session.get(Partner, by.partner_id)
    issuer = session.get(Issuer, issuer_id.strip().upper())
    if partner is None or issuer is None or issuer.id == partner.issuer_id:
        raise NotFound("No such issuer.", code="issuer_not_found")
    row = session.get(PartnerServiceRequest, (partner.id, issuer.id))
    if row is not None:
        return row
    row = PartnerServiceRequest(
        partner_id=partner.id, issuer_id=issuer.id, requested_at=now, requested_by=by.actor
    )
    with refusing_duplicates(session, lambda: Conflict("Already asked.", code="already_asked")):
        session.add(row)
    audit.record(
        session,
        issuer_id=issuer.id,
        actor=by.actor,
        action="partner.asks_to_serve",
        object_type="partner",
        object_id=partner.id,
        now=now,
        data={"home_issuer": partner.issuer_id},
    )
    return row
