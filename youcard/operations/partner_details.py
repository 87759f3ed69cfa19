"""A partner's name, contact address and bank details, and its staff's logins at the
scanner page.

Bank details follow four eyes: one administrator enters a new IBAN, a second one confirms
it; until then the payment files keep paying the confirmed one. The partner's contact
address hears of both steps; a changed contact address, the old one and the new. A
partner's staff login can be deactivated (its sessions end at once), activated again and
given a new one-time password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from youcard import audit, security
from youcard.db import Session
from youcard.domain.models import Partner, PartnerUser
from youcard.errors import Conflict, FourEyesViolation, NotFound
from youcard.messages import partner_events
from youcard.operations.contacts import email_address
from youcard.operations.staff import end_sessions
from youcard.operations.staff_accounts import one_time_password
from youcard.operations.values import clean_name, valid_iban
from youcard.policy import ADMINISTRATORS, Staff, require_role


def _own_partner(session: Session, by: Staff, partner_id: int, what: str) -> Partner:
    require_role(by, ADMINISTRATORS, what)
    partner = session.get(Partner, partner_id)
    if partner is None or partner.issuer_id != by.issuer_id:
        raise NotFound("No such partner.", code="partner_not_found")
    return partner


def _record(session: Session, by: Staff, partner: Partner, action: str, now: datetime) -> None:
    audit.record(
        session,
        issuer_id=partner.issuer_id,
        actor=by.actor,
        action=action,
        object_type="partner",
        object_id=partner.id,
        now=now,
    )


def rename_partner(
    session: Session, *, by: Staff, partner_id: int, name: str, now: datetime
) -> Partner:
    """Correct the partner's name (as on credit notes and payment files)."""
    partner = _own_partner(session, by, partner_id, "change partners")
    partner.name = clean_name(name, "name")
    _record(session, by, partner, "partner.rename", now)
    return partner


def set_partner_contact(
    session: Session, *, by: Staff, partner_id: int, email: str | None, now: datetime
) -> Partner:
    """The address the city's messages to the partner go to (empty: none); the old address
    and the new one are told."""
    partner = _own_partner(session, by, partner_id, "change partners")
    old, new = partner.contact_email, email_address(email, "contact_email")
    if new != old:
        partner.contact_email = new
        _record(session, by, partner, "partner.contact", now)
        partner_events.contact_changed(session, partner, old=old, now=now)
    return partner


def request_iban_change(
    session: Session, *, by: Staff, partner_id: int, iban: str, now: datetime
) -> Partner:
    """A new IBAN for the partner, waiting for a second administrator (the payment files
    keep the confirmed one until then)."""
    partner = _own_partner(session, by, partner_id, "change bank details")
    partner.pending_iban = valid_iban(iban)
    partner.pending_iban_by = by.actor
    partner.pending_iban_at = now
    _record(session, by, partner, "partner.iban_requested", now)
    partner_events.bank_details(session, partner, confirmed=False, now=now)
    return partner


def confirm_iban_change(session: Session, *, by: Staff, partner_id: int, now: datetime) -> Partner:
    """A second administrator confirms the waiting IBAN: from now on it is paid."""
    partner = _own_partner(session, by, partner_id, "confirm bank details")
    if partner.pending_iban is None:
        raise Conflict("No new IBAN is waiting.", code="nothing_to_confirm")
    if partner.pending_iban_by == by.actor:
        raise FourEyesViolation(
            "You entered this IBAN; a second administrator has to confirm it.",
            code="iban_four_eyes",
        )
    partner.iban = partner.pending_iban
    partner.pending_iban = partner.pending_iban_by = partner.pending_iban_at = None
    _record(session, by, partner, "partner.iban_confirmed", now)
    partner_events.bank_details(session, partner, confirmed=True, now=now)
    return partner


def discard_iban_change(session: Session, *, by: Staff, partner_id: int, now: datetime) -> Partner:
    """Drop the waiting IBAN (any administrator, the one who entered it too)."""
    partner = _own_partner(session, by, partner_id, "change bank details")
    if partner.pending_iban is not None:
        partner.pending_iban = partner.pending_iban_by = partner.pending_iban_at = None
        _record(session, by, partner, "partner.iban_discarded", now)
    return partner


def _partner_user(session: Session, by: Staff, user_id: int) -> PartnerUser:
    require_role(by, ADMINISTRATORS, "change partner logins")
    user = session.get(PartnerUser, user_id)
    if user is None or user.partner.issuer_id != by.issuer_id:
        raise NotFound("No such login.", code="partner_user_not_found")
    return user


def _record_user(
    session: Session, by: Staff, user: PartnerUser, action: str, now: datetime
) -> None:
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action=action,
        object_type="partner_user",
        object_id=user.id,
        now=now,
        data={"username": user.username},
    )


def set_partner_user_active(
    session: Session, *, by: Staff, user_id: int, active: bool, now: datetime
) -> PartnerUser:
    """Deactivate a partner's staff login (its sessions end at once) or activate it again."""
    user = _partner_user(session, by, user_id)
    if user.active != active:
        user.active = active
        if not active:
            end_sessions(user)
        _record_user(
            session, by, user, "partner_user.activate" if active else "partner_user.deactivate", now
        )
    return user


@dataclass(frozen=True)
class NewPartnerPassword:
    user: PartnerUser
    password: str  # shown once, never stored


def reset_partner_user_password(
    session: Session, *, by: Staff, user_id: int, now: datetime
) -> NewPartnerPassword:
    """A new random password for a partner's staff login (shown once to the administrator,
    who hands it over); its sessions end."""
    user = _partner_user(session, by, user_id)
    secret = one_time_password()
    user.password_hash = security.hash_password(secret)
    end_sessions(user)
    _record_user(session, by, user, "partner_user.reset_password", now)
    return NewPartnerPassword(user, secret)
