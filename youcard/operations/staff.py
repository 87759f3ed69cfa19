"""Staff sign-in: argon2id passwords, a lockout after repeated failures, audit events."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from youcard import audit, security
from youcard.db import Session
from youcard.errors import DomainError
from youcard.models import StaffUser

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
    if user is None or not user.active:
        security.check_password(_DUMMY_HASH, password)
        raise LoginFailed("Username or password is wrong.")
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(
            "Too many failed attempts: this account is locked for a while.", until=user.locked_until
        )
    if not security.check_password(user.password_hash, password):
        user.failed_logins += 1
        locked = user.failed_logins >= MAX_FAILED_LOGINS
        if locked:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        audit.record(
            session,
            issuer_id=user.issuer_id,
            actor="anonymous",
            action="staff.lockout" if locked else "staff.login_failed",
            object_type="staff_user",
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
        issuer_id=user.issuer_id,
        actor=f"staff:{user.id}",
        action="staff.login",
        object_type="staff_user",
        object_id=user.id,
        now=now,
    )
    session.flush()
    return user
