"""Staff accounts: created by an administrator (or the CLI) with a one-time password that
must be changed at first sign-in; role changes, deactivation, unlocking, resets and every
user's own password change. Every change is audited; the last active administrator of an
issuer can be neither demoted nor deactivated.

Staff accounts and changes to them are serialised per issuer by locking the issuer's row
first, always (then the account, then its tokens): two administrators demoting each other at
the same moment cannot leave none, and parallel changes of one account queue instead of
deadlocking.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from youcard import audit, security
from youcard.db import Session, refusing_duplicates
from youcard.domain.enums import Role
from youcard.domain.models import Issuer, LoginThrottle, StaffUser
from youcard.errors import Conflict, Forbidden, InvalidRequest, NotFound
from youcard.operations.staff import end_sessions
from youcard.operations.staff_tokens import revoke_tokens_of
from youcard.operations.values import clean_name, clean_text, password_hash_of
from youcard.policy import ADMINISTRATORS, Staff, require_role

# Letters and digits: lower case, no look-alikes (0/o, 1/l/i); 16 of 31 symbols = 79 bits.
ONE_TIME_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,79}")
STAFF_LOGIN = "staff"  # the kind of sign-in throttle (youcard.operations.staff)


class LastAdministrator(Conflict):
    """The issuer's last active administrator cannot be demoted or deactivated."""

    code = "last_administrator"


@dataclass(frozen=True)
class NewStaffPassword:
    """A staff account with a password shown once (`one_time_password`; None when the
    caller chose the password, as the demo data does)."""

    user: StaffUser
    one_time_password: str | None


def one_time_password() -> str:
    """A random password to hand over once, e.g. `k7mq-2vx9-plwa-3nre`."""
    chars = "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def _username(text: str) -> str:
    name = clean_text(text, "username", 80).lower()
    if not USERNAME.fullmatch(name):
        raise InvalidRequest(
            "A username has 2 to 80 letters a-z, digits and . _ @ - (no spaces).",
            code="invalid_username",
            field="username",
        )
    return name


def _lock_issuer(session: Session, issuer_id: str) -> None:
    """Serialise staff changes of one issuer (SQLite: its one writer already does)."""
    found = session.execute(select(Issuer.id).where(Issuer.id == issuer_id).with_for_update())
    if found.first() is None:
        raise NotFound("No such issuer.", code="issuer_not_found")


def _member(session: Session, by: Staff, user_id: int) -> StaffUser:
    """A staff account of the principal's issuer, else NotFound (never another issuer's)."""
    user = session.get(StaffUser, user_id)
    if user is None or user.issuer_id != by.issuer_id:
        raise NotFound("No such staff member.", code="staff_not_found")
    return user


def _active_administrators(session: Session, issuer_id: str) -> int:
    session.flush()  # this transaction's own changes count (sessions do not autoflush)
    return (
        session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(
                StaffUser.issuer_id == issuer_id,
                StaffUser.active.is_(True),
                StaffUser.role == Role.ADMINISTRATOR,
            )
        )
        or 0
    )


def _keep_an_administrator(session: Session, user: StaffUser) -> None:
    if (
        user.active
        and user.role is Role.ADMINISTRATOR
        and _active_administrators(session, user.issuer_id) <= 1
    ):
        raise LastAdministrator("This is the last active administrator: make another one first.")


def _audit(
    session: Session, by: Staff, user: StaffUser, action: str, now: datetime, **data: object
) -> None:
    audit.record(
        session,
        issuer_id=user.issuer_id,
        actor=by.actor,
        action=action,
        object_type="staff_user",
        object_id=user.id,
        now=now,
        data={"username": user.username, **data},
    )
    session.flush()  # the change is visible to the next check in this transaction


def create_staff_user(
    session: Session,
    *,
    by: Staff,
    username: str,
    display_name: str,
    role: Role,
    now: datetime,
    password: str | None = None,
) -> NewStaffPassword:
    """A staff account of the principal's issuer with a one-time password, which must be
    changed at first sign-in. `password` (demo data and tests only) sets a chosen one that
    meets the password rule and need not be changed."""
    require_role(by, ADMINISTRATORS, "create staff accounts")
    name = _username(username)
    chosen = password is not None
    secret = password if password is not None else one_time_password()
    user = StaffUser(
        issuer_id=by.issuer_id,
        username=name,
        display_name=clean_name(display_name, "display_name"),
        role=Role(role),
        password_hash=(
            password_hash_of(secret, context=[name, display_name])
            if chosen
            else security.hash_password(secret)
        ),
        active=True,
        must_change_password=not chosen,
        created_at=now,
    )
    _lock_issuer(session, by.issuer_id)
    with refusing_duplicates(
        session, lambda: Conflict("This username is already in use.", code="username_taken")
    ):
        session.add(user)
    _audit(session, by, user, "staff.create", now, role=user.role.value)
    return NewStaffPassword(user, None if chosen else secret)


def set_staff_role(
    session: Session, *, by: Staff, user_id: int, role: Role, now: datetime
) -> StaffUser:
    """Give a staff member another role (never the last active administrator's)."""
    require_role(by, ADMINISTRATORS, "change roles")
    _lock_issuer(session, by.issuer_id)
    user = _member(session, by, user_id)
    role = Role(role)
    if user.role is role:
        return user
    if role is not Role.ADMINISTRATOR:
        _keep_an_administrator(session, user)
    before = user.role
    user.role = role
    _audit(session, by, user, "staff.role", now, before=before.value, role=role.value)
    return user


def set_staff_active(
    session: Session, *, by: Staff, user_id: int, active: bool, now: datetime
) -> StaffUser:
    """Deactivate a staff member (their sessions end and their API tokens are revoked at
    once; never the last active administrator) or activate them again."""
    require_role(by, ADMINISTRATORS, "deactivate staff accounts")
    _lock_issuer(session, by.issuer_id)
    user = _member(session, by, user_id)
    if user.active == active:
        return user
    if not active:
        _keep_an_administrator(session, user)
        end_sessions(user)
        revoke_tokens_of(session, user, now)
    user.active = active
    _audit(session, by, user, "staff.activate" if active else "staff.deactivate", now)
    return user


def _lift_waits(session: Session, user: StaffUser) -> int:
    """Forget the user's failed sign-ins at every address; how many addresses waited."""
    waits = session.scalars(
        select(LoginThrottle).where(
            LoginThrottle.kind == STAFF_LOGIN, LoginThrottle.username == user.username
        )
    ).all()
    for wait in waits:
        session.delete(wait)
    return len(waits)


def unlock_staff_user(session: Session, *, by: Staff, user_id: int, now: datetime) -> int:
    """Lift the sign-in waits of a staff member at every address; how many were lifted."""
    require_role(by, ADMINISTRATORS, "unlock staff accounts")
    _lock_issuer(session, by.issuer_id)
    user = _member(session, by, user_id)
    lifted = _lift_waits(session, user)
    _audit(session, by, user, "staff.unlock", now, lifted=lifted)
    return lifted


def reset_staff_password(
    session: Session, *, by: Staff, user_id: int, now: datetime
) -> NewStaffPassword:
    """A new one-time password for a staff member (shown once, to be changed at the next
    sign-in); their sessions end and their sign-in waits are lifted."""
    require_role(by, ADMINISTRATORS, "reset passwords")
    _lock_issuer(session, by.issuer_id)
    user = _member(session, by, user_id)
    secret = one_time_password()
    user.password_hash = security.hash_password(secret)
    user.must_change_password = True
    end_sessions(user)
    revoked = revoke_tokens_of(session, user, now)
    _lift_waits(session, user)
    _audit(session, by, user, "staff.reset_password", now, tokens_revoked=revoked)
    return NewStaffPassword(user, secret)


class WrongPassword(Forbidden):
    """The current password given to change it was wrong."""

    code = "wrong_password"


def change_own_password(
    session: Session, *, by: Staff, current_password: str, new_password: str, now: datetime
) -> StaffUser:
    """The signed-in staff member's new password (the password rule applies; not the same
    as before). Their other sessions end; the caller keeps the current one going."""
    if by.user_id is None:
        raise Forbidden("Only a signed-in staff member changes their password.")
    user = session.get(StaffUser, by.user_id)
    if user is None or not user.active or user.issuer_id != by.issuer_id:
        raise NotFound("No such staff member.", code="staff_not_found")
    if not security.check_password(user.password_hash, current_password):
        raise WrongPassword("The current password is wrong.")
    if new_password == current_password:
        raise InvalidRequest(
            "The new password must differ from the current one.", code="password_unchanged"
        )
    user.password_hash = password_hash_of(new_password, context=[user.username, user.display_name])
    user.must_change_password = False
    user.password_changed_at = now
    end_sessions(user)
    _audit(session, by, user, "staff.password_changed", now)
    return user


@dataclass(frozen=True)
class StaffListEntry:
    """A staff account as the administration lists it."""

    user: StaffUser
    waiting: bool  # some address must wait before signing in again (unlock lifts it)


def _entries(session: Session, users: Sequence[StaffUser], now: datetime) -> list[StaffListEntry]:
    waiting = set(
        session.scalars(
            select(LoginThrottle.username).where(
                LoginThrottle.kind == STAFF_LOGIN,
                LoginThrottle.blocked_until > now,
                LoginThrottle.username.in_([u.username for u in users]),
            )
        )
    )
    return [StaffListEntry(user, user.username in waiting) for user in users]


def list_staff(session: Session, *, by: Staff, now: datetime) -> list[StaffListEntry]:
    """The principal's issuer's staff accounts, active first, by name."""
    require_role(by, ADMINISTRATORS, "see the staff accounts")
    users = session.scalars(
        select(StaffUser)
        .where(StaffUser.issuer_id == by.issuer_id)
        .order_by(StaffUser.active.desc(), StaffUser.display_name, StaffUser.id)
    ).all()
    return _entries(session, users, now)


def staff_entry(session: Session, *, by: Staff, user_id: int, now: datetime) -> StaffListEntry:
    """One staff account of the principal's issuer as the administration shows it, else
    NotFound."""
    require_role(by, ADMINISTRATORS, "see the staff accounts")
    (entry,) = _entries(session, [_member(session, by, user_id)], now)
    return entry
