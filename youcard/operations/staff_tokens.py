"""API tokens of the city's case-management system, each acting as one staff member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from youcard import audit, security
from youcard.db import Session
from youcard.domain.models import StaffToken, StaffUser
from youcard.errors import NotFound, Unauthorized
from youcard.operations.values import clean_text
from youcard.policy import ADMINISTRATORS, Staff, require_role
from youcard.security import token_hash

STAFF_TOKEN_PREFIX = "ycs"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True)
class NewStaffToken:
    """A staff API token as created: `token` is shown once and never stored."""

    row: StaffToken
    token: str


def create_staff_token(
    session: Session, *, by: Staff, username: str, name: str, now: datetime
) -> NewStaffToken:
    """A new API token acting as the principal's issuer's staff member `username` (with
    that member's role)."""
    require_role(by, ADMINISTRATORS, "create staff API tokens")
    user = session.scalars(
        select(StaffUser).where(
            func.lower(StaffUser.username) == username.strip().lower(),
            StaffUser.issuer_id == by.issuer_id,
        )
    ).first()
    if user is None or not user.active:
        raise NotFound("No such staff member.", code="staff_not_found")
    token = security.new_token(STAFF_TOKEN_PREFIX)
    row = StaffToken(
        issuer_id=user.issuer_id,
        staff_user_id=user.id,
        name=clean_text(name, "name", 100),
        token_hash=security.token_hash(token),
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        issuer_id=user.issuer_id,
        actor=by.actor,
        action="staff_token.create",
        object_type="staff_token",
        object_id=row.id,
        now=now,
        data={"name": row.name, "username": user.username},
    )
    return NewStaffToken(row=row, token=token)


TOKEN_LAST_USE_RESOLUTION = timedelta(minutes=5)  # write "last used" at most this often


def staff_for_token(session: Session, token: str, *, now: datetime) -> StaffUser:
    """The active staff member whose API token this is (stored as SHA-256), else
    Unauthorized; notes when the token was last used."""
    found = session.execute(
        select(StaffToken, StaffUser)
        .join(StaffUser, StaffUser.id == StaffToken.staff_user_id)
        .where(StaffToken.token_hash == token_hash(token.strip()), StaffToken.revoked_at.is_(None))
    ).one_or_none()
    if found is None or not found[1].active:
        raise Unauthorized("This staff API token is not valid.")
    if found[1].must_change_password:  # a reset: nothing acts as them before they choose
        raise Unauthorized(
            "This staff member has a one-time password: they sign in and choose their own"
            " password first, then make a new token."
        )
    row, user = found
    if row.last_used_at is None or now - row.last_used_at > TOKEN_LAST_USE_RESOLUTION:
        session.execute(update(StaffToken).where(StaffToken.id == row.id).values(last_used_at=now))
    return user


def revoke_tokens_of(session: Session, user: StaffUser, now: datetime) -> int:
    """End every API token of `user` (a deactivation, a password reset); how many ended."""
    ended = session.execute(
        update(StaffToken)
        .where(StaffToken.staff_user_id == user.id, StaffToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(ended, "rowcount", 0) or 0)


def own_tokens(session: Session, *, by: Staff) -> list[StaffToken]:
    """The signed-in staff member's API tokens that still work, newest first."""
    if by.user_id is None:
        return []
    return list(
        session.scalars(
            select(StaffToken)
            .where(StaffToken.staff_user_id == by.user_id, StaffToken.revoked_at.is_(None))
            .order_by(StaffToken.created_at.desc(), StaffToken.id.desc())
        )
    )


def revoke_staff_token(session: Session, *, by: Staff, token_id: int, now: datetime) -> StaffToken:
    """End one of one's own API tokens (anyone else's is NotFound; a person's tokens all end
    with a reset or a deactivation). Ending an ended token again changes nothing."""
    row = session.get(StaffToken, token_id, with_for_update=True)
    if row is None or by.user_id is None or row.staff_user_id != by.user_id:
        raise NotFound("No such token.", code="token_not_found")
    if row.revoked_at is None:
        row.revoked_at = now
        audit.record(
            session,
            issuer_id=row.issuer_id,
            actor=by.actor,
            action="staff_token.revoke",
            object_type="staff_token",
            object_id=row.id,
            now=now,
            data={"name": row.name},
        )
    return row
