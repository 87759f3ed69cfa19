"""Staff and partner-staff sign-in: argon2id, throttling per (username, address), audit.

OWASP's advice instead of an account lockout that anyone could trigger: failed attempts
are counted per username *and* address; from the fifth on, that pair waits, longer with
every further failure (1, 2, 4, 8, then 15 minutes). Another address (the account's owner
at their desk) is not slowed, and the web apps also limit attempts per address.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from youcard import audit, security
from youcard.db import Session, upsert
from youcard.domain.models import LoginThrottle, PartnerUser, StaffUser
from youcard.domain.usability import partner_may_book
from youcard.errors import DomainError

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)  # families: a household waits this long (operations.family)
FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(minutes=15)
MAX_ADDRESS_LENGTH = 64
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

    @classmethod
    def until(cls, message: str, until: datetime, now: datetime) -> AccountLocked:
        """Locked until `until`: `details` say when, and in how many seconds (Retry-After)."""
        return cls(
            message, until=until, retry_after=max(1, math.ceil((until - now).total_seconds()))
        )


def sign_in(
    session: Session, *, username: str, password: str, address: str, now: datetime
) -> StaffUser:
    """The staff user with this username and password; failures from `address` are throttled."""
    name = username.strip().lower()
    user = session.scalars(
        select(StaffUser).where(func.lower(StaffUser.username) == name)
    ).one_or_none()
    active = user is not None and user.active
    _check(session, user if active else None, name, password, address, now, kind="staff")
    assert user is not None
    return user


def sign_in_partner_user(
    session: Session, *, username: str, password: str, address: str, now: datetime
) -> PartnerUser:
    """A partner's staff member at the scanner page: the same checks and throttling as staff,
    and only while the partner is allowed to book."""
    name = username.strip().lower()
    user = session.scalars(
        select(PartnerUser).where(func.lower(PartnerUser.username) == name)
    ).one_or_none()
    active = user is not None and user.active and partner_may_book(user.partner.status)
    _check(session, user if active else None, name, password, address, now, kind="partner_user")
    assert user is not None
    return user


def end_sessions(user: StaffUser | PartnerUser) -> None:
    """End every signed-in session of `user` on the server (sign-out, deactivation, a new
    password): each session carries the generation it began in."""
    user.session_generation += 1


def delay_after(failures: int) -> timedelta | None:
    """How long a (username, address) pair waits after its `failures`-th failure in a row."""
    if failures < MAX_FAILED_LOGINS:
        return None
    delay: timedelta = FIRST_DELAY * 2 ** min(failures - MAX_FAILED_LOGINS, 8)
    return min(delay, MAX_DELAY)


def count_failure(failed: int, now: datetime) -> tuple[int, datetime | None]:
    """One more failed sign-in: the new count and, at the limit, the lock's end (the count
    then starts again). Staff, partner staff and families are locked alike."""
    failed += 1
    if failed >= MAX_FAILED_LOGINS:
        return 0, now + LOCKOUT
    return failed, None


_OBJECT_TYPES = {"staff": "staff_user", "partner_user": "partner_user"}


def _throttle(session: Session, kind: str, name: str, address: str) -> LoginThrottle | None:
    return session.scalars(
        select(LoginThrottle).where(
            LoginThrottle.kind == kind,
            LoginThrottle.username == name,
            LoginThrottle.address == address,
        )
    ).one_or_none()


def _count_failure(session: Session, kind: str, name: str, address: str, now: datetime) -> int:
    """One more failure of the pair, counted in one statement (parallel guesses all count)."""
    table = LoginThrottle.__table__
    statement = upsert(session, table).values(
        kind=kind, username=name, address=address, failures=1, updated_at=now
    )
    failures: int = session.execute(
        statement.on_conflict_do_update(
            index_elements=["kind", "username", "address"],
            set_={"failures": table.c.failures + 1, "updated_at": now},
        ).returning(table.c.failures)
    ).scalar_one()
    return failures


def _check(
    session: Session,
    user: StaffUser | PartnerUser | None,
    name: str,
    password: str,
    address: str,
    now: datetime,
    *,
    kind: str,
) -> None:
    """Throttle, password, audit. Failures are counted for the (username, address) pair, known
    username or not (the answer never tells which); blocks and their lifting are audited."""
    name, address = name[:80], address[:MAX_ADDRESS_LENGTH]
    throttle = _throttle(session, kind, name, address)
    if throttle is not None and throttle.blocked_until is not None and throttle.blocked_until > now:
        raise AccountLocked.until(
            "Too many failed attempts from here: please wait a while.", throttle.blocked_until, now
        )
    issuer_id = (
        None
        if user is None
        else user.issuer_id
        if isinstance(user, StaffUser)
        else user.partner.issuer_id
    )
    if user is None or not security.check_password(user.password_hash, password):
        if user is None:
            security.check_password(_DUMMY_HASH, password)  # the same time as a known name
        failures = _count_failure(session, kind, name, address, now)
        delay = delay_after(failures)
        if delay is not None:
            session.execute(
                update(LoginThrottle)
                .where(
                    LoginThrottle.kind == kind,
                    LoginThrottle.username == name,
                    LoginThrottle.address == address,
                )
                .values(blocked_until=now + delay)
            )
        if user is not None and issuer_id is not None:
            audit.record(
                session,
                issuer_id=issuer_id,
                actor="anonymous",
                action=f"{kind}.throttled" if delay is not None else f"{kind}.login_failed",
                object_type=_OBJECT_TYPES[kind],
                object_id=user.id,
                now=now,
                data={"failures": failures, "wait_seconds": int(delay.total_seconds())}
                if delay is not None
                else None,
            )
        session.flush()
        if delay is not None:
            raise AccountLocked.until(
                "Too many failed attempts from here: please wait a while.", now + delay, now
            )
        raise LoginFailed("Username or password is wrong.")
    assert issuer_id is not None
    if throttle is not None:
        session.execute(delete(LoginThrottle).where(LoginThrottle.id == throttle.id))
        if throttle.blocked_until is not None:
            audit.record(
                session,
                issuer_id=issuer_id,
                actor=f"{kind}:{user.id}",
                action=f"{kind}.throttle_lifted",
                object_type=_OBJECT_TYPES[kind],
                object_id=user.id,
                now=now,
            )
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


THROTTLE_KEPT = timedelta(days=1)  # failures counted for a pair that tried nothing since then


def forget_old_throttles(session: Session, *, now: datetime, limit: int = 10_000) -> int:
    """Delete sign-in throttles of pairs (username, address) that neither failed nor waited
    for THROTTLE_KEPT: most are guesses at unknown names, which would otherwise pile up.
    At most `limit` rows at a time; returns how many went."""
    stale = now - THROTTLE_KEPT
    ids = select(LoginThrottle.id).where(
        LoginThrottle.updated_at < stale,
        or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < stale),
    )
    chosen = session.scalars(ids.limit(limit)).all()
    if chosen:
        session.execute(delete(LoginThrottle).where(LoginThrottle.id.in_(chosen)))
    return len(chosen)
