"""Staff and partner-staff sign-in: argon2id, a lockout after repeated failures, audit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from youcard import audit, security
from youcard.db import Session
from youcard.enums import PartnerStatus
from youcard.errors import DomainError
from youcard.models import PartnerUser, StaffUser

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
# Checked against when the username is unknown, so that both answers take the same time.
_DUMMY_HASH = security.hash_password("no such user, no such password")


class LoginFailed(DomainError):
    """Wrong username or password (never says which)."""

    code = "login_failed"
    http_status = 401


class AccountLocked(DomainError):
    """Too many failed logins: the account waits a while."""

    code = "account_locked"
    http_status = 429


def sign_in(session: Session, *, username: str, password: str, now: datetime) -> StaffUser:
    """The staff user with this username and password; counts failures and locks the account."""
    user = session.scalars(
        select(StaffUser).where(func.lower(StaffUser.username) == username.strip().lower())
    ).one_or_none()
    active = user is not None and user.active
    _check(session, user if active else None, password, now, kind="staff")
    assert user is not None
    return user


def sign_in_partner_user(
    session: Session, *, username: str, password: str, now: datetime
) -> PartnerUser:
    """A partner's staff member at the scanner page: the same checks and lockout as staff,
    and only while the partner is allowed to book."""
    user = session.scalars(
        select(PartnerUser).where(func.lower(PartnerUser.username) == username.strip().lower())
    ).one_or_none()
    active = user is not None and user.active and user.partner.status is PartnerStatus.ACTIVE
    _check(session, user if active else None, password, now, kind="partner_user")
    assert user is not None
    return user


def count_failure(failed: int, now: datetime) -> tuple[int, datetime | None]:
    """One more failed sign-in: the new count and, at the limit, the lock's end (the count
    then starts again). Staff, partner staff and families are locked alike."""
    failed += 1
    if failed >= MAX_FAILED_LOGINS:
        return 0, now + LOCKOUT
    return failed, None


_OBJECT_TYPES = {"staff": "staff_user", "partner_user": "partner_user"}


def _check(
    session: Session,
    user: StaffUser | PartnerUser | None,
    password: str,
    now: datetime,
    *,
    kind: str,
) -> None:
    """Password and lockout check; failures are counted and audited under the user's issuer."""
    if user is None:
        security.check_password(_DUMMY_HASH, password)
        raise LoginFailed("Username or password is wrong.")
    issuer_id = user.issuer_id if isinstance(user, StaffUser) else user.partner.issuer_id
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(
            "Too many failed attempts: this account is locked for a while.", until=user.locked_until
        )
    if not security.check_password(user.password_hash, password):
        user.failed_logins, until = count_failure(user.failed_logins, now)
        locked = until is not None
        if locked:
            user.locked_until = until
        audit.record(
            session,
            issuer_id=issuer_id,
            actor="anonymous",
            action=f"{kind}.lockout" if locked else f"{kind}.login_failed",
            object_type=_OBJECT_TYPES[kind],
            object_id=user.id,
            now=now,
        )
        session.flush()
        if locked:
            raise AccountLocked("Too many failed attempts: this account is locked for a while.")
        raise LoginFailed("Username or password is wrong.")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(
        session,
        issuer_id=issuer_id,
        actor=f"{kind}:{user.id}",
        action=f"{kind}.login",
        object_type=_OBJECT_TYPES[kind],
        object_id=user.id,
        now=now,
    )
    session.flush()
