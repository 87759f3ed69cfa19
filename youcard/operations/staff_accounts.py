"""Staff accounts and the API tokens of the case-management system.

The caller (a view or the CLI) checks who may call them and passes its identity as
`actor` for the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from youcard import audit, security
from youcard.db import Session
from youcard.enums import Role
from youcard.errors import NotFound, Unauthorized
from youcard.models import (
    StaffToken,
    StaffUser,
)
from youcard.operations.values import clean_text, password_hash_of
from youcard.security import token_hash


def create_staff_user(
    session: Session,
    *,
    issuer_id: str,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    actor: str,
    now: datetime,
) -> StaffUser:
    """A staff account with an argon2id password hash."""
    user = StaffUser(
        issuer_id=issuer_id,
        username=clean_text(username, "username", 80).lower(),
        display_name=clean_text(display_name, "display_name", 200),
        role=role,
        password_hash=password_hash_of(password),
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        issuer_id=issuer_id,
        actor=actor,
        action="staff.create",
        object_type="staff_user",
        object_id=user.id,
        now=now,
        data={"username": user.username, "role": role.value},
    )
    return user


STAFF_TOKEN_PREFIX = "ycs"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True)
class NewStaffToken:
    """A staff API token as created: `token` is shown once and never stored."""

    row: StaffToken
    token: str


def create_staff_token(
    session: Session, *, username: str, name: str, actor: str, now: datetime
) -> NewStaffToken:
    """A new API token acting as the staff member `username` (with that member's role)."""
    user = session.scalars(select(StaffUser).where(StaffUser.username == username.lower())).first()
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
        actor=actor,
        action="staff_token.create",
        object_type="staff_token",
        object_id=row.id,
        now=now,
        data={"name": row.name},
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
    row, user = found
    if row.last_used_at is None or now - row.last_used_at > TOKEN_LAST_USE_RESOLUTION:
        session.execute(update(StaffToken).where(StaffToken.id == row.id).values(last_used_at=now))
    return user
