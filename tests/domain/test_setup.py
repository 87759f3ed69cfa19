"""Creating staff, partners, devices and children: hashes, validation, audit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.factories import NOW
from youcard.enums import Category, Role
from youcard.models import AuditEvent
from youcard.operations.setup import (
    add_child,
    create_device_token,
    create_household,
    create_partner,
    create_staff_user,
)
from youcard.security import check_password, token_hash


def test_staff_passwords_are_argon2id_hashes(session, make, refused):
    issuer = make.issuer()
    user = create_staff_user(
        session,
        issuer_id=issuer.id,
        username=" Anna ",
        display_name="Anna",
        role=Role.APPROVER,
        password="lang genug und geheim",
        actor="system",
        now=NOW,
    )
    assert user.username == "anna"
    assert user.password_hash.startswith("$argon2id$")
    assert check_password(user.password_hash, "lang genug und geheim")
    assert not check_password(user.password_hash, "falsch")
    assert not check_password("not a hash", "falsch")
    error = refused(
        create_staff_user,
        issuer_id=issuer.id,
        username="bob",
        display_name="Bob",
        role=Role.CASEWORKER,
        password="kurz",
        actor="system",
        now=NOW,
    )
    assert error.code == "password_too_short"


def test_device_tokens_are_stored_only_as_hashes(session, make):
    issuer = make.issuer()
    partner = create_partner(
        session,
        issuer_id=issuer.id,
        name="TuS",
        iban="de89 3704 0044 0532 0130 00",
        permissions={issuer.id: {Category.PARTICIPATION}},
        actor="system",
        now=NOW,
    )
    assert partner.iban == "DE89370400440532013000"
    made = create_device_token(
        session, partner_id=partner.id, name="Kasse", actor="system", now=NOW
    )
    assert made.token.startswith("ycd_") and len(made.token) > 40
    assert made.device.token_hash == token_hash(made.token)
    other = create_device_token(
        session, partner_id=partner.id, name="Kasse 2", actor="system", now=NOW
    )
    assert other.token != made.token
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.issuer_id == issuer.id).order_by(AuditEvent.id)
    ).all()
    assert actions == ["partner.create", "device_token.create", "device_token.create"]
    assert made.token not in str(
        session.scalars(select(AuditEvent.data).where(AuditEvent.issuer_id == issuer.id)).all()
    )


def test_children_need_a_name_and_a_past_birth_date(session, make, refused):
    issuer = make.issuer()
    household = create_household(
        session,
        issuer_id=issuer.id,
        reference="HAM-1",
        family_name="Muster",
        actor="system",
        now=NOW,
    )
    kwargs = dict(household_id=household.id, family_name="Muster", actor="system", now=NOW)
    assert refused(add_child, given_name="Ali", birth_date=date(2027, 1, 1), **kwargs).code == (
        "invalid_birth_date"
    )
    assert refused(add_child, given_name="  ", birth_date=date(2015, 1, 1), **kwargs).code == (
        "field_required"
    )
    assert refused(add_child, given_name="x" * 201, birth_date=date(2015, 1, 1), **kwargs).code == (
        "field_too_long"
    )
    child = add_child(session, given_name="Ali", birth_date=date(2015, 1, 1), **kwargs)
    assert child.issuer_id == issuer.id
