"""Creating staff, partners, devices and children: hashes, validation, audit."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import KEK, NOW, at_counter, trusted
from youcard.domain.enums import Category, PartnerStatus, Role
from youcard.domain.models import AuditEvent
from youcard.operations.households import add_child, create_household
from youcard.operations.partners import create_device_token, create_partner
from youcard.operations.staff_accounts import create_staff_user
from youcard.policy import Staff
from youcard.security import check_password, token_hash


def test_staff_passwords_are_argon2id_hashes(session, make, refused):
    issuer = make.issuer()
    admin = Staff.system(issuer.id, "system")
    user = create_staff_user(
        session,
        by=admin,
        username=" Anna ",
        display_name="Anna",
        role=Role.APPROVER,
        password="lang genug und geheim",
        now=NOW,
    ).user
    assert user.username == "anna"
    assert user.password_hash.startswith("$argon2id$")
    assert check_password(user.password_hash, "lang genug und geheim")
    assert not check_password(user.password_hash, "falsch")
    assert not check_password("not a hash", "falsch")
    error = refused(
        create_staff_user,
        by=admin,
        username="bob",
        display_name="Bob",
        role=Role.CASEWORKER,
        password="kurz",
        now=NOW,
    )
    assert error.code == "password_too_short"


def test_device_tokens_are_stored_only_as_hashes(session, make, refused):
    issuer = make.issuer()
    partner = create_partner(
        session,
        by=Staff.system(issuer.id, "system"),
        name="TuS",
        iban="de89 3704 0044 0532 0130 00",
        permissions={issuer.id: {Category.PARTICIPATION}},
        now=NOW,
    )
    assert partner.iban == "DE89370400440532013000"
    made = create_device_token(
        session, by=Staff.system(issuer.id, "system"), partner_id=partner.id, name="Kasse", now=NOW
    )
    assert made.token.startswith("ycd_") and len(made.token) > 40
    assert made.device.token_hash == token_hash(made.token)
    other = create_device_token(
        session,
        by=Staff.system(issuer.id, "system"),
        partner_id=partner.id,
        name="Kasse 2",
        now=NOW,
    )
    stranger = Staff.system(make.issuer().id, "system")  # another issuer's administration
    assert (
        refused(
            create_device_token, by=stranger, partner_id=partner.id, name="Kasse 3", now=NOW
        ).code
        == "partner_not_found"
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
    by = Staff.system(issuer.id, "system")
    household = create_household(session, by=by, reference="HAM-1", family_name="Muster", now=NOW)
    kwargs = dict(by=by, household_id=household.id, family_name="Muster", now=NOW)
    assert refused(add_child, given_name="Ali", birth_date=date(2027, 1, 1), **kwargs).code == (
        "invalid_birth_date"
    )
    assert refused(add_child, given_name="  ", birth_date=date(2015, 1, 1), **kwargs).code == (
        "field_required"
    )
    assert refused(add_child, given_name="x" * 201, birth_date=date(2015, 1, 1), **kwargs).code == (
        "field_too_long"
    )
    stranger = Staff.system(make.issuer().id, "system")
    assert refused(
        add_child, **{**kwargs, "by": stranger}, given_name="Ali", birth_date=date(2015, 1, 1)
    ).code == ("household_not_found")  # another issuer's household: not found (#15)
    approver = Staff(issuer.id, Role.APPROVER, "staff:9")
    assert refused(
        add_child, **{**kwargs, "by": approver}, given_name="Ali", birth_date=date(2015, 1, 1)
    ).code == ("role_not_permitted")
    child = add_child(session, given_name="Ali", birth_date=date(2015, 1, 1), **kwargs)
    assert child.issuer_id == issuer.id


def test_a_corrected_birth_date_moves_the_participation_budget(session, make, refused):
    from youcard.operations.booking import book
    from youcard.operations.households import update_child

    issuer = make.issuer()
    child = make.child(issuer, birth_date=date(2012, 5, 1))
    entitlement = make.entitlement(child)
    assert entitlement.cap_cents == 12 * 1500
    kwargs = dict(
        by=Staff(issuer.id, Role.CASEWORKER, "staff:1"),
        child_id=child.id,
        given_name=child.given_name,
        family_name=child.family_name,
        now=NOW,
    )
    update_child(session, birth_date=date(2008, 6, 10), **kwargs)  # 18 on 10 June 2026
    session.refresh(entitlement)
    assert entitlement.cap_cents == 6 * 1500
    update_child(session, birth_date=date(2012, 5, 1), **kwargs)
    session.refresh(entitlement)
    assert entitlement.cap_cents == 12 * 1500
    card = make.card(child)
    partner = make.partner(issuer)
    book(
        session,
        by=at_counter(partner.id),
        credential=card.credential,
        trusted=trusted(session),
        category="participation",
        amount_cents=4500,
        idempotency_key="k",
        now=NOW,
    )
    error = refused(update_child, birth_date=date(2008, 2, 10), **kwargs)  # cap would be 3000
    assert error.code == "birth_date_conflicts_with_bookings"
    assert refused(update_child, birth_date=date(2030, 1, 1), **kwargs).code == "invalid_birth_date"
    other = make.issuer()
    assert refused(
        update_child,
        **{**kwargs, "by": Staff.system(other.id, "x"), "birth_date": date(2012, 5, 1)},
    ).code == ("child_not_found")


def test_a_household_keeps_its_reference_unique(session, make, refused):
    from youcard.operations.households import create_household, update_household

    issuer = make.issuer()
    by = Staff.system(issuer.id, "x")
    a = create_household(session, by=by, reference="A-1", family_name="A", now=NOW)
    create_household(session, by=by, reference="B-1", family_name="B", now=NOW)
    error = refused(
        update_household, by=by, household_id=a.id, reference="B-1", family_name="A", now=NOW
    )
    assert error.code == "reference_taken"
    update_household(
        session, by=by, household_id=a.id, reference="A-2", family_name="Anders", now=NOW
    )
    assert (a.reference, a.family_name) == ("A-2", "Anders")


def test_an_issuer_accepts_another_issuers_partner_for_its_own_cards(session, make):
    from youcard.domain.enums import Category
    from youcard.operations.booking import book
    from youcard.operations.partners import set_partner_permissions

    home, neighbour = make.issuer(), make.issuer()
    partner = make.partner(home, {Category.PARTICIPATION})
    child = make.child(neighbour)
    make.entitlement(child)
    card = make.card(child)
    args = dict(
        by=at_counter(partner.id),
        credential=card.credential,
        trusted=trusted(session),
        category="participation",
        amount_cents=100,
        now=NOW,
    )
    from youcard.errors import CategoryNotPermitted

    with pytest.raises(CategoryNotPermitted), session.begin_nested():
        book(session, idempotency_key="before", **args)
    from youcard.errors import NotFound
    from youcard.operations.partners import ask_to_serve

    accept = dict(partner_id=partner.id, by=Staff.system(neighbour.id, "staff:9"), now=NOW)
    with pytest.raises(NotFound), session.begin_nested():  # it has not asked: not found
        set_partner_permissions(session, categories={Category.PARTICIPATION}, **accept)
    ask_to_serve(session, by=at_counter(partner.id), issuer_id=neighbour.id, now=NOW)
    set_partner_permissions(
        session,
        partner_id=partner.id,
        by=Staff.system(neighbour.id, "staff:9"),
        categories={Category.PARTICIPATION},
        now=NOW,
    )
    assert book(session, idempotency_key="after", **args).booking.amount_cents == 100
    assert {(p.issuer_id, p.category) for p in partner.permissions} == {
        (home.id, Category.PARTICIPATION),
        (neighbour.id, Category.PARTICIPATION),
    }
    set_partner_permissions(
        session,
        partner_id=partner.id,
        by=Staff.system(neighbour.id, "staff:9"),
        categories=set(),
        now=NOW,
    )
    assert {p.issuer_id for p in partner.permissions} == {home.id}


def test_another_issuers_partner_is_accepted_only_once_it_is_active(session, make, refused):
    """The operation itself decides (youcard.tenancy.partner_to_accept), not only the pages:
    another issuer's pending or suspended partner is 'not found', and nothing is written."""
    from youcard.operations.partners import ask_to_serve, set_partner_permissions

    home, neighbour = make.issuer(), make.issuer()
    for status in (PartnerStatus.PENDING, PartnerStatus.SUSPENDED):
        partner = make.partner(home, {Category.PARTICIPATION}, status=status)
        ask_to_serve(session, by=at_counter(partner.id), issuer_id=neighbour.id, now=NOW)
        error = refused(
            set_partner_permissions, partner_id=partner.id, now=NOW,
            by=Staff.system(neighbour.id, "staff:9"), categories={Category.PARTICIPATION},
        )  # fmt: skip
        assert error.code == "partner_not_found"
        assert {p.issuer_id for p in partner.permissions} == {home.id}
    missing = refused(
        set_partner_permissions, partner_id=10**9, now=NOW,
        by=Staff.system(neighbour.id, "staff:9"), categories=set(),
    )  # fmt: skip
    assert missing.code == "partner_not_found"


def test_partner_operations_decide_role_and_tenant_themselves(session, make, refused):
    """#15: only an issuer's administrators manage its partners, and an issuer decides only
    what partners may book on its own cards."""
    from youcard.operations.partners import create_partner, set_partner_status

    home, other = make.issuer(), make.issuer()
    admin = Staff.system(home.id, "staff:1")
    args = dict(name="TuS", iban="DE89370400440532013000", now=NOW)
    foreign = {other.id: {Category.PARTICIPATION}}
    error = refused(create_partner, by=admin, permissions=foreign, **args)
    assert error.code == "permission_for_other_issuer"
    approver = Staff(home.id, Role.APPROVER, "staff:2")
    own = {home.id: {Category.PARTICIPATION}}
    assert refused(create_partner, by=approver, permissions=own, **args).code == (
        "role_not_permitted"
    )
    partner = create_partner(session, by=admin, permissions=own, **args)
    elsewhere = Staff.system(other.id, "staff:3")
    assert refused(
        set_partner_status,
        by=elsewhere,
        partner_id=partner.id,
        status=PartnerStatus.ACTIVE,
        now=NOW,
    ).code == ("partner_not_found")


def test_only_the_system_registers_an_issuer(session, make, refused):
    import secrets

    from youcard.domain.models import Issuer
    from youcard.errors import Forbidden
    from youcard.operations.issuers import create_issuer

    new_id = f"DE-X{secrets.token_hex(2).upper()}"
    admin = Staff.of(make.staff(make.issuer(), Role.ADMINISTRATOR))
    error = refused(create_issuer, by=admin, name="Stadt X", kek=KEK, now=NOW)  # a city's admin
    assert isinstance(error, Forbidden)
    assert session.scalar(select(Issuer).where(Issuer.name == "Stadt X")) is None
    made = create_issuer(
        session, by=Staff.system(new_id, "system:cli"), name="Stadt X", kek=KEK, now=NOW
    )
    assert (made.id, made.name) == (new_id, "Stadt X")
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.issuer_id == new_id, AuditEvent.action == "issuer.create"
        )
    ).one()
    assert event.actor == "system:cli"
