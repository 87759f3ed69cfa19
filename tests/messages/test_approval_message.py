"""#29: an approval tells the family, by e-mail and SMS, with its first access code when it
has none. The code waits in the outbox sealed (never as it is), goes with the message, and
is gone from the outbox once sent; a letter made before that carries a new code instead."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import KEK, NOW, Factory
from youcard.domain.enums import Category, EntitlementStatus, Role
from youcard.domain.models import Household, OutboxMessage
from youcard.errors import Forbidden
from youcard.operations.entitlements import approve_entitlement
from youcard.operations.family import family_sign_in, new_access_code
from youcard.operations.letters import make_approval_letters
from youcard.policy import Staff

BIRTH = date(2015, 2, 3)


def _recorded(sessions, *, email="eltern@example.org", phone="0170 1234567", language="uk"):
    """A family reachable by e-mail and SMS, without an access code, whose child has a
    benefit recorded and waiting for a second person: the ids and the staff."""
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        issuer.family_url = "https://youcard.hamm.example/family"
        household = make.household(issuer)
        household.email, household.phone, household.language = email, phone, language
        child = make.child(issuer, household=household, birth_date=BIRTH)
        child.given_name = "Олена"
        entitlement = make.entitlement(child, Category.LUNCH, status=EntitlementStatus.RECORDED)
        return {
            "household": household.id,
            "entitlement": entitlement.id,
            "approver": Staff.of(make.staff(issuer, Role.APPROVER)),
            "caseworker": Staff.of(make.staff(issuer, Role.CASEWORKER)),
        }


def _approve(sessions, world, *, kek=KEK, now=NOW):
    with sessions.begin() as session:
        approve_entitlement(
            session, entitlement_id=world["entitlement"], by=world["approver"], now=now, kek=kek
        )


def _rows(sessions):
    with sessions() as session:
        return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def _send(sessions, env):
    from youcard.messages.sending import send_messages

    return send_messages(sessions, lambda: NOW + timedelta(minutes=1), env, kek=lambda: KEK)


def test_the_approval_brings_the_first_access_code_sealed_and_the_family_signs_in_with_it(
    private_committed, smtp, sms
):
    inbox, mail_env = smtp
    received, sms_env = sms
    world = _recorded(private_committed)
    _approve(private_committed, world)
    rows = _rows(private_committed)
    assert [(row.event, row.channel) for row in rows] == [
        ("benefit_approved", "email"),
        ("benefit_approved", "sms"),
    ]
    with private_committed() as session:
        household = session.get(Household, world["household"])
        assert household.access_code_hash is not None
        assert household.access_code_delivered_at is None  # made, not yet in the family's hands
    assert all("sealed_code" in json.loads(row.facts) for row in rows)

    assert _send(private_committed, {**mail_env, **sms_env}) == 2
    (mail,) = inbox.mails
    text = mail.get_body(preferencelist=("plain",)).get_content()
    code = text.split("Ваш код доступу до сімейного розділу: ")[1][:19]
    assert "Олена" in text and "обід" in text and "Mittagessen" in text  # German beside it
    assert "Olena" not in mail["Subject"] and "Олена" not in mail["Subject"]
    (sms_message,) = received.messages
    assert code in sms_message["message"] and "Олена" not in sms_message["message"]
    assert "youcard.hamm.example/family" in sms_message["message"]
    for row in _rows(private_committed):  # the secret is gone from the outbox
        assert row.status == "sent" and "sealed_code" not in row.facts and code not in row.facts
    with private_committed.begin() as session:
        assert session.get(Household, world["household"]).access_code_delivered_at is not None
        signed_in = family_sign_in(session, code=code, birth_date=BIRTH, now=NOW)
        assert signed_in.id == world["household"]


def test_a_family_that_has_its_code_is_told_without_a_new_one(private_committed, smtp):
    inbox, env = smtp
    world = _recorded(private_committed, phone=None, language="de")
    with private_committed.begin() as session:
        code = new_access_code(
            session, by=world["caseworker"], household_id=world["household"], now=NOW
        )
    _approve(private_committed, world)
    (row,) = _rows(private_committed)
    assert "sealed_code" not in row.facts
    assert _send(private_committed, env) == 1
    text = inbox.mails[0].get_body(preferencelist=("plain",)).get_content()
    assert "mit dem Zugangscode aus unserem Brief oder einer früheren Nachricht" in text
    assert code not in text
    with private_committed() as session:  # the code from before still works
        assert session.get(Household, world["household"]).access_code_delivered_at == NOW


def test_a_family_no_address_reaches_gets_no_message_and_no_code(private_committed):
    world = _recorded(private_committed, email=None, phone=None)
    _approve(private_committed, world)
    assert _rows(private_committed) == []
    with private_committed() as session:
        assert session.get(Household, world["household"]).access_code_hash is None


def test_a_refused_or_undone_approval_leaves_no_message_and_no_code(private_committed):
    world = _recorded(private_committed)
    with pytest.raises(Forbidden), private_committed.begin() as session:
        approve_entitlement(
            session, entitlement_id=world["entitlement"], by=world["caseworker"], now=NOW, kek=KEK
        )
    with private_committed() as session:
        approve_entitlement(
            session, entitlement_id=world["entitlement"], by=world["approver"], now=NOW, kek=KEK
        )
        assert session.scalars(select(OutboxMessage)).all()  # written with its cause ...
        session.rollback()  # ... the request fails after the approval
    assert _rows(private_committed) == []  # ... and undone with it
    with private_committed() as session:
        assert session.get(Household, world["household"]).access_code_hash is None


def test_a_letter_made_before_the_message_went_brings_a_new_code_and_the_message_none(
    private_committed, smtp
):
    """No SMTP yet when the benefit was approved: the message waits with its code. The day's
    letter then makes a new code (the family never saw the first); the waiting message
    loses its code and, sent later, points to the letter."""
    inbox, env = smtp
    world = _recorded(private_committed, phone=None, language="de")
    _approve(private_committed, world)
    with private_committed.begin() as session:
        ((_, letter_code),) = make_approval_letters(
            session,
            by=world["caseworker"],
            household_ids=[world["household"]],
            new_codes=False,
            now=NOW + timedelta(hours=1),
        )
    assert letter_code is not None
    (row,) = _rows(private_committed)
    assert "sealed_code" not in row.facts
    assert _send(private_committed, env) == 1
    text = inbox.mails[0].get_body(preferencelist=("plain",)).get_content()
    assert "mit dem Zugangscode aus unserem Brief" in text
    with private_committed.begin() as session:
        household = session.get(Household, world["household"])
        assert household.access_code_delivered_at == NOW + timedelta(hours=1)
        assert (
            family_sign_in(session, code=letter_code, birth_date=BIRTH, now=NOW).id
            == (world["household"])
        )


def test_a_sealed_code_opens_only_with_its_key_and_for_its_message():
    from youcard.messages.sealed import seal, unseal

    sealed = seal(KEK, "ABCD-EFGH-JKLM-NPQR", event_key="benefit_approved:1")
    assert unseal(KEK, sealed, event_key="benefit_approved:1") == "ABCD-EFGH-JKLM-NPQR"
    with pytest.raises(ValueError, match="cannot be read"):
        unseal(KEK, sealed, event_key="benefit_approved:2")  # moved to another message
    with pytest.raises(ValueError, match="cannot be read"):
        unseal(bytes(32), sealed, event_key="benefit_approved:1")  # another key
    assert "ABCD" not in sealed
