"""#29: SMS through apprise (a local stand-in service): the family's language alone, at
most two parts, no child or benefit named, the family area linked; a number no SMS reaches
is marked undeliverable; a service that fails is tried again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import NOW
from tests.messages.test_outbox import _block, _family, _rows
from youcard.domain.contacts import OfficeDetails
from youcard.domain.languages import FAMILY_LANGUAGES
from youcard.domain.models import Household
from youcard.messages.sending import send_messages
from youcard.messages.sms import international
from youcard.messages.texts import SMS_SEGMENTS, render_sms, sms_segments


def _with_phone(sessions, phone, **kwargs):
    world = _family(sessions, email=None, **kwargs)
    with sessions.begin() as session:
        session.get(Household, world["household"]).phone = phone
    return world


def test_a_blocked_card_is_told_by_sms_in_the_familys_language_alone(private_committed, sms):
    received, env = sms
    world = _with_phone(private_committed, "0170 123 45-67", language="uk")
    _block(private_committed, world)
    (row,) = _rows(private_committed)
    assert (row.channel, row.address) == ("sms", "0170 123 45-67")
    assert send_messages(private_committed, lambda: NOW, env) == 1
    (message,) = received.messages
    assert message["to"] == "+491701234567"
    text = message["message"]
    assert text.startswith("YouCard: є новини") and "https://youcard.hamm.example/family" in text
    assert "Amal" not in text and "Karte" not in text  # nothing named; no German beside
    assert sms_segments(text) <= SMS_SEGMENTS
    assert _rows(private_committed)[0].status == "sent"


@pytest.mark.parametrize("language", FAMILY_LANGUAGES)
def test_every_languages_sms_fits_two_parts_with_a_long_address(language):
    office = OfficeDetails(family_url="https://youcard.stadt-musterstadt.example/familie/anmelden")
    text = render_sms(language, office)
    assert office.family_url in text and sms_segments(text) <= SMS_SEGMENTS
    assert sms_segments(render_sms(language, OfficeDetails())) <= SMS_SEGMENTS


def test_a_number_no_sms_reaches_is_marked_undeliverable(private_committed, sms):
    received, env = sms
    world = _with_phone(private_committed, "12")
    _block(private_committed, world)
    assert send_messages(private_committed, lambda: NOW, env) == 0
    assert _rows(private_committed)[0].status == "failed" and received.messages == []
    with private_committed() as session:
        household = session.get(Household, world["household"])
        assert household.phone_undeliverable_at == NOW and household.email_undeliverable_at is None


def test_a_failing_service_is_tried_again(private_committed, sms):
    received, env = sms
    world = _with_phone(private_committed, "+90 532 000 11 22", language="tr")
    _block(private_committed, world)
    received.failing = True
    assert send_messages(private_committed, lambda: NOW, env) == 0
    (row,) = _rows(private_committed)
    assert (row.status, row.attempts) == ("waiting", 1)
    received.failing = False
    assert send_messages(private_committed, lambda: row.next_attempt_at, env) == 1
    assert received.messages[0]["to"] == "+905320001122"


def test_phone_numbers_as_an_sms_service_wants_them():
    assert international("0521 51-0") == "+49521510"
    assert international("0049 (521) 51 0") == "+49521510"
    assert international("+380 44 123 4567") == "+380441234567"
    assert international("12") is None and international("521 51") is None


def test_email_and_sms_are_two_messages_each_sent_once(private_committed, smtp, sms):
    inbox, mail_env = smtp
    received, sms_env = sms
    world = _family(private_committed)
    with private_committed.begin() as session:
        session.get(Household, world["household"]).phone = "0170 1234567"
    _block(private_committed, world)
    env = {**mail_env, **sms_env}
    assert send_messages(private_committed, lambda: NOW, env) == 2
    assert send_messages(private_committed, lambda: NOW, env) == 0
    assert len(inbox.mails) == 1 and len(received.messages) == 1
    with private_committed() as session:
        assert not session.scalars(select(Household.email_undeliverable_at)).first()


def test_a_family_that_chose_sms_alone_gets_no_email(private_committed):
    world = _family(private_committed)
    with private_committed.begin() as session:
        household = session.get(Household, world["household"])
        household.phone, household.message_channel = "0170 1234567", "sms"
    _block(private_committed, world)
    assert [row.channel for row in _rows(private_committed)] == ["sms"]
