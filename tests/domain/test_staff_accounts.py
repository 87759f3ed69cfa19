"""Staff accounts: one-time passwords, roles, deactivation, unlocking, resets, own password
changes; the last administrator stays; every change audited without a secret."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import NOW, PASSWORD, Factory
from youcard.db import make_engine, make_sessionmaker
from youcard.domain.enums import Role
from youcard.domain.models import AuditEvent, LoginThrottle, StaffToken
from youcard.errors import DomainError
from youcard.operations.staff import sign_in
from youcard.operations.staff_accounts import (
    change_own_password,
    create_staff_user,
    list_staff,
    reset_staff_password,
    set_staff_active,
    set_staff_role,
    unlock_staff_user,
)
from youcard.operations.staff_tokens import create_staff_token, staff_for_token
from youcard.policy import Staff
from youcard.security import check_password

SIGN_IN_EVENTS = ("staff.login", "staff.login_failed", "staff.throttled", "staff.throttle_lifted")


def _events(session, user_id):
    """The account's management events (sign-ins are audited too, but not asked about here)."""
    return session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == "staff_user",
            AuditEvent.object_id == str(user_id),
            AuditEvent.action.not_in(SIGN_IN_EVENTS),
        )
        .order_by(AuditEvent.id)
    ).all()


def test_a_new_account_has_a_one_time_password_to_change_and_no_secret_in_the_audit(session, make):
    issuer = make.issuer()
    admin = Staff.of(make.staff(issuer, Role.ADMINISTRATOR))
    made = create_staff_user(
        session, by=admin, username="Anna.Schmidt", display_name="Anna Schmidt",
        role=Role.CASEWORKER, now=NOW,
    )  # fmt: skip
    user, secret = made.user, made.one_time_password
    assert secret is not None and len(secret.replace("-", "")) == 16
    assert user.username == "anna.schmidt" and user.issuer_id == issuer.id
    assert user.must_change_password and check_password(user.password_hash, secret)
    assert sign_in(session, username="ANNA.SCHMIDT", password=secret, address="a", now=NOW) is user
    (event,) = _events(session, user.id)
    assert event.action == "staff.create" and event.actor == admin.actor
    assert secret not in str(event.data) and "$argon2" not in str(event.data)
    other = create_staff_user(
        session, by=admin, username="ben", display_name="Ben", role=Role.APPROVER, now=NOW
    )
    assert other.one_time_password != secret


def test_usernames_are_unique_and_plain(session, make, refused):
    issuer = make.issuer()
    admin = Staff.of(make.staff(issuer, Role.ADMINISTRATOR))
    create_staff_user(
        session, by=admin, username="carla", display_name="Carla", role=Role.APPROVER, now=NOW
    )
    kwargs = {"by": admin, "display_name": "X", "role": Role.CASEWORKER, "now": NOW}
    assert refused(create_staff_user, username=" CARLA ", **kwargs).code == "username_taken"
    for bad in ("c", "carla müller", "carla\u202e", "a" * 81, "-carla"):
        assert refused(create_staff_user, username=bad, **kwargs).code in (
            "invalid_username",
            "field_too_long",
        )


def test_only_an_administrator_manages_staff_and_only_their_own_issuers(session, make, refused):
    issuer, other = make.issuer(), make.issuer()
    member = make.staff(other, Role.CASEWORKER)
    for role in (Role.CASEWORKER, Role.APPROVER):
        by = Staff.of(make.staff(issuer, role))
        error = refused(
            create_staff_user, by=by, username=f"x{role.value}", display_name="X",
            role=Role.ADMINISTRATOR, now=NOW,
        )  # fmt: skip
        assert error.code == "role_not_permitted"
        assert refused(set_staff_active, by=by, user_id=member.id, active=False, now=NOW).code == (
            "role_not_permitted"
        )
    admin = Staff.of(make.staff(issuer, Role.ADMINISTRATOR))
    for operation, extra in (
        (set_staff_role, {"role": Role.ADMINISTRATOR}),
        (set_staff_active, {"active": False}),
        (unlock_staff_user, {}),
        (reset_staff_password, {}),
    ):
        error = refused(operation, by=admin, user_id=member.id, now=NOW, **extra)
        assert error.code == "staff_not_found", operation.__name__
    listed = {e.user.id for e in list_staff(session, by=admin, now=NOW)}
    assert admin.user_id in listed and member.id not in listed


def test_the_last_active_administrator_is_neither_demoted_nor_deactivated(session, make, refused):
    issuer = make.issuer()
    first = make.staff(issuer, Role.ADMINISTRATOR)
    by = Staff.of(first)
    assert refused(set_staff_role, by=by, user_id=first.id, role=Role.APPROVER, now=NOW).code == (
        "last_administrator"
    )
    assert refused(set_staff_active, by=by, user_id=first.id, active=False, now=NOW).code == (
        "last_administrator"
    )
    second = make.staff(issuer, Role.CASEWORKER)
    set_staff_role(session, by=by, user_id=second.id, role=Role.ADMINISTRATOR, now=NOW)
    set_staff_role(session, by=by, user_id=first.id, role=Role.APPROVER, now=NOW)
    assert first.role is Role.APPROVER
    assert (
        refused(
            set_staff_active, by=Staff.of(second), user_id=second.id, active=False, now=NOW
        ).code
        == "last_administrator"
    )
    actions = [e.action for e in _events(session, first.id)]
    assert actions == ["staff.role"]
    assert json.loads(_events(session, first.id)[0].data) == {
        "username": first.username, "before": "administrator", "role": "approver",
    }  # fmt: skip


def test_deactivation_ends_sessions_and_tokens_at_once(session, make):
    issuer = make.issuer()
    admin = Staff.of(make.staff(issuer, Role.ADMINISTRATOR))
    user = make.staff(issuer, Role.CASEWORKER)
    token = create_staff_token(session, by=admin, username=user.username, name="Fach", now=NOW)
    generation = user.session_generation
    set_staff_active(session, by=admin, user_id=user.id, active=False, now=NOW)
    assert not user.active and user.session_generation == generation + 1
    session.refresh(token.row)
    assert token.row.revoked_at == NOW
    with pytest.raises(DomainError) as caught:
        staff_for_token(session, token.token, now=NOW)
    assert caught.value.code == "unauthorized"
    with pytest.raises(DomainError):
        sign_in(session, username=user.username, password=PASSWORD, address="a", now=NOW)
    set_staff_active(session, by=admin, user_id=user.id, active=True, now=NOW)
    assert sign_in(session, username=user.username, password=PASSWORD, address="b", now=NOW)
    revoked = select(StaffToken.revoked_at).where(StaffToken.staff_user_id == user.id)
    assert session.scalars(revoked).all() == [NOW]  # stays revoked
    assert [e.action for e in _events(session, user.id)] == ["staff.deactivate", "staff.activate"]


def _fail_sign_ins(session, username, times, at):
    for _ in range(times):
        with pytest.raises(DomainError):
            sign_in(session, username=username, password="wrong!", address="10.0.0.9", now=at)


def test_unlock_lifts_the_waits_and_a_reset_hands_over_a_new_one_time_password(session, make):
    issuer = make.issuer()
    admin = Staff.of(make.staff(issuer, Role.ADMINISTRATOR))
    user = make.staff(issuer, Role.APPROVER)
    _fail_sign_ins(session, user.username, 5, NOW)
    (entry,) = [e for e in list_staff(session, by=admin, now=NOW) if e.user.id == user.id]
    assert entry.waiting
    with pytest.raises(DomainError) as caught:
        sign_in(session, username=user.username, password=PASSWORD, address="10.0.0.9", now=NOW)
    assert caught.value.code == "account_locked"
    assert unlock_staff_user(session, by=admin, user_id=user.id, now=NOW) == 1
    assert sign_in(session, username=user.username, password=PASSWORD, address="10.0.0.9", now=NOW)

    _fail_sign_ins(session, user.username, 5, NOW)
    generation = user.session_generation
    made = reset_staff_password(session, by=admin, user_id=user.id, now=NOW)
    assert made.one_time_password and user.must_change_password
    assert user.session_generation == generation + 1
    waits = select(LoginThrottle).where(LoginThrottle.username == user.username)
    assert session.scalars(waits).all() == []
    assert not check_password(user.password_hash, PASSWORD)
    assert sign_in(
        session, username=user.username, password=made.one_time_password, address="10.0.0.9",
        now=NOW,
    )  # fmt: skip
    actions = [e.action for e in _events(session, user.id)]
    assert actions == ["staff.unlock", "staff.reset_password"]
    assert all(made.one_time_password not in str(e.data) for e in _events(session, user.id))


def test_everyone_changes_their_own_password_under_the_password_rule(session, make, refused):
    issuer = make.issuer()
    admin = Staff.of(make.staff(issuer, Role.ADMINISTRATOR))
    made = create_staff_user(
        session, by=admin, username="dilek.yilmaz", display_name="Dilek Yılmaz",
        role=Role.CASEWORKER, now=NOW,
    )  # fmt: skip
    user, secret = made.user, made.one_time_password
    me = Staff.of(user)
    later = NOW + timedelta(hours=1)

    def change(current, new):
        return refused(
            change_own_password, by=me, current_password=current, new_password=new, now=later
        ).code

    assert change("not it", "Pferd Batterie Heftklammer") == "wrong_password"
    assert change(secret, "kurz") == "password_too_short"
    for common in ("password1234", "passwort1234", "123456789012", "dilek.yilmaz1", "aaaaaaaaaaaa"):
        assert change(secret, common) == "password_too_common", common
    assert change(secret, secret) == "password_unchanged"
    assert change(secret, "x" * 201) == "password_too_long"
    generation = user.session_generation
    change_own_password(
        session, by=me, current_password=secret, new_password="Pferd Batterie Heftklammer",
        now=later,
    )  # fmt: skip
    assert not user.must_change_password and user.password_changed_at == later
    assert user.session_generation == generation + 1
    assert check_password(user.password_hash, "Pferd Batterie Heftklammer")
    error = refused(
        change_own_password, by=Staff.system(issuer.id, "cli"), current_password="x",
        new_password="Pferd Batterie Heftklammer 2", now=later,
    )  # fmt: skip
    assert error.code == "forbidden"


def test_two_administrators_demoting_each_other_at_once_leave_one(database_url):
    """Real parallel clients: each checks that another administrator remains, at the same
    moment; the lock on the issuer lets one through and tells the other."""
    engine = make_engine(database_url, pool_size=4)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            make = Factory(session)
            issuer = make.issuer()
            first, second = (make.staff(issuer, Role.ADMINISTRATOR) for _ in range(2))
            pairs = [(Staff.of(first), second.id), (Staff.of(second), first.id)]
            issuer_id = issuer.id
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def demote(by, user_id):
            barrier.wait()
            try:
                with sessions.begin() as session:
                    set_staff_role(session, by=by, user_id=user_id, role=Role.APPROVER, now=NOW)
                outcomes.append("done")
            except DomainError as error:
                outcomes.append(error.code)

        threads = [threading.Thread(target=demote, args=pair) for pair in pairs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(outcomes) == ["done", "last_administrator"]
        with sessions() as session:
            admins = list_staff(session, by=Staff.system(issuer_id, "test"), now=NOW)
            assert [e.user.role for e in admins].count(Role.ADMINISTRATOR) == 1
    finally:
        engine.dispose()


def test_old_sign_in_throttles_are_forgotten_and_recent_or_waiting_ones_kept(session):
    from datetime import timedelta

    from youcard.operations.staff import THROTTLE_KEPT, forget_old_throttles

    old = NOW - THROTTLE_KEPT - timedelta(minutes=1)
    rows = {
        "guess": LoginThrottle(kind="staff", username="nobody-x1", address="198.51.100.7",
                               failures=3, updated_at=old),
        "recent": LoginThrottle(kind="staff", username="nobody-x2", address="198.51.100.7",
                                failures=3, updated_at=NOW - timedelta(hours=1)),
        "waiting": LoginThrottle(kind="staff", username="nobody-x3", address="198.51.100.7",
                                 failures=0, updated_at=old, blocked_until=NOW + THROTTLE_KEPT),
    }  # fmt: skip
    session.add_all(rows.values())
    session.flush()
    assert forget_old_throttles(session, now=NOW) >= 1
    left = set(session.scalars(
        select(LoginThrottle.username).where(LoginThrottle.username.like("nobody-x%"))
    ))  # fmt: skip
    assert left == {"nobody-x2", "nobody-x3"}
    assert forget_old_throttles(session, now=NOW) == 0
