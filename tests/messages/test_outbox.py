"""#29: messages to families through the outbox: written with their cause, sent by the
`messages` job to a real SMTP server, in the family's language with German beside it, at
least once, never twice to one address for one event."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from email.message import Message

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, Factory
from youcard.domain.contacts import OfficeDetails
from youcard.domain.enums import Role
from youcard.domain.languages import FAMILY_LANGUAGES
from youcard.domain.models import Household, OutboxMessage
from youcard.messages import sending
from youcard.messages.email import Mailer
from youcard.messages.outbox import tell_household
from youcard.messages.sending import LEASE, send_messages
from youcard.messages.texts import (
    BODIES,
    CATEGORIES,
    PARTNER_EVENTS,
    REASONS,
    SMS_CODE,
    SUBJECT,
    WITH_CODE,
    WITHOUT_CODE,
    catalog,
    render,
)
from youcard.operations.cards import revoke_card
from youcard.policy import Staff


def _text(mail: Message) -> str:
    part = mail.get_body(preferencelist=("plain",))
    return part.get_content()


def _html(mail: Message) -> str:
    return mail.get_body(preferencelist=("html",)).get_content()


def _family(sessions, *, email="familie@example.org", language="ar", given="Amal"):
    """An issuer with its office's details, a family reachable by e-mail, a child with a
    card, and an approver: the ids."""
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        issuer.office_name, issuer.office_phone = "Bürgeramt Mitte", "02381 17-0"
        issuer.family_url = "https://youcard.hamm.example/family"
        household = make.household(issuer)
        household.email, household.language = email, language
        child = make.child(issuer, household=household)
        child.given_name = given
        card = make.card(child)
        approver = Staff.of(make.staff(issuer, Role.APPROVER))
        return {"issuer": issuer.id, "household": household.id, "card": card.id, "by": approver}


def _block(sessions, world, now=NOW):
    with sessions.begin() as session:
        revoke_card(session, by=world["by"], card_id=world["card"], reason="verloren", now=now)


def _rows(sessions):
    with sessions() as session:
        return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_a_blocked_card_tells_the_family_in_its_language_with_german_beside(
    private_committed, smtp
):
    inbox, env = smtp
    world = _family(private_committed)
    _block(private_committed, world)
    (row,) = _rows(private_committed)
    assert (row.event, row.status, row.language) == ("card_blocked", "waiting", "ar")
    assert send_messages(private_committed, lambda: NOW, env) == 1
    (mail,) = inbox.mails
    assert mail["Message-ID"] == f"<outbox-{row.id}@hamm.example>"
    assert mail["To"] == "familie@example.org"
    # no child or benefit detail in the subject; Arabic first, German beside it
    assert "Amal" not in mail["Subject"]
    arabic, german = "رسالة بخصوص بطاقة YouCard الخاصة بكم", "Eine Nachricht zu Ihrer YouCard"
    assert mail["Subject"] == f"{arabic} / {german}"
    text = _text(mail)
    assert text.index("تم حظر بطاقة Amal") < text.index("Die Karte von Amal ist gesperrt")
    assert "Bürgeramt Mitte" in text and "https://youcard.hamm.example/family" in text
    html = _html(mail)
    assert '<div lang="ar" dir="rtl">' in html and '<div lang="de" dir="ltr">' in html
    (row,) = _rows(private_committed)
    assert (row.status, row.attempts, row.claimed_until) == ("sent", 1, None)
    assert send_messages(private_committed, lambda: NOW, env) == 0  # nothing twice
    assert len(inbox.mails) == 1


def test_a_german_family_gets_german_alone(private_committed, smtp):
    inbox, env = smtp
    world = _family(private_committed, language="de")
    _block(private_committed, world)
    send_messages(private_committed, lambda: NOW, env)
    (mail,) = inbox.mails
    assert mail["Subject"] == "Eine Nachricht zu Ihrer YouCard"
    assert "Auf Deutsch" not in _text(mail) and "Die Karte von Amal" in _text(mail)


def test_no_message_without_its_cause(private_committed):
    """The message is in the cause's unit of work: the cause rolled back, no message."""
    world = _family(private_committed)
    with private_committed() as session, session.begin():
        revoke_card(session, by=world["by"], card_id=world["card"], reason="x", now=NOW)
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        session.rollback()
    assert _rows(private_committed) == []


def test_without_a_channel_messages_wait(private_committed):
    world = _family(private_committed)
    _block(private_committed, world)
    assert send_messages(private_committed, lambda: NOW, {}) == 0
    (row,) = _rows(private_committed)
    assert (row.status, row.attempts) == ("waiting", 0)


def test_one_event_is_told_once_to_one_address(private_committed, smtp):
    inbox, env = smtp
    world = _family(private_committed)
    with private_committed.begin() as session:
        household = session.get(Household, world["household"])
        for _ in range(3):
            tell_household(
                session, household, event="card_blocked", key="card_blocked:1",
                facts={"child": "Amal"}, now=NOW,
            )  # fmt: skip
    assert len(_rows(private_committed)) == 1
    send_messages(private_committed, lambda: NOW, env)
    send_messages(private_committed, lambda: NOW + timedelta(hours=1), env)
    assert len(inbox.mails) == 1


def test_a_refused_address_is_marked_undeliverable_and_gets_nothing_more(
    private_committed, smtp, caplog
):
    inbox, env = smtp
    world = _family(private_committed, email="weg@refused.example")
    _block(private_committed, world)
    with caplog.at_level(logging.DEBUG):
        assert send_messages(private_committed, lambda: NOW, env) == 0
    (row,) = _rows(private_committed)
    assert row.status == "failed" and row.last_error.startswith("550")
    with private_committed() as session:
        household = session.get(Household, world["household"])
        assert household.email_undeliverable_at == NOW
        # a later event: nothing queued for that address until the caseworker changes it
        assert tell_household(
            session, household, event="card_blocked", key="again", facts={"child": "A"}, now=NOW
        ) == 0  # fmt: skip
    assert inbox.mails == []
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours and not any("refused.example" in line or "Amal" in line for line in ours)


def test_a_server_that_is_down_is_tried_again_later(private_committed, smtp):
    inbox, env = smtp
    world = _family(private_committed)
    _block(private_committed, world)
    from tests.smtp_server import free_port

    down = {**env, "YOUCARD_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}
    assert send_messages(private_committed, lambda: NOW, down) == 0
    (row,) = _rows(private_committed)
    assert (row.status, row.attempts) == ("waiting", 1)
    assert row.next_attempt_at == NOW + sending.FIRST_RETRY and row.last_error
    assert send_messages(private_committed, lambda: NOW + timedelta(minutes=1), env) == 0
    assert send_messages(private_committed, lambda: NOW + timedelta(minutes=6), env) == 1
    assert len(inbox.mails) == 1


def test_a_busy_answer_is_retried_until_the_last_attempt_then_shown_failed(private_committed, smtp):
    _, env = smtp
    world = _family(private_committed, email="voll@busy.example")
    _block(private_committed, world)
    at = NOW
    for attempt in range(1, sending.MAX_ATTEMPTS + 1):
        send_messages(private_committed, lambda at=at: at, env)
        (row,) = _rows(private_committed)
        assert row.attempts == attempt
        at = row.next_attempt_at
    assert row.status == "failed" and row.last_error.startswith("451")
    with private_committed() as session:
        assert session.get(Household, world["household"]).email_undeliverable_at is None


def test_a_crash_between_sending_and_marking_sends_once_more_with_the_same_id(
    private_committed, smtp
):
    """The runner sent, then died before marking: the claim's lease ends, the next runner
    sends again (at least once), with the same Message-ID, and marks it; then never again."""
    inbox, env = smtp
    world = _family(private_committed)
    _block(private_committed, world)
    mailer = Mailer.from_env(env)
    with private_committed.begin() as session:
        (row,) = sending._claim(session, "email", NOW)
        mail = mailer.message(row.id, row.address, sending._rendered(session, row, None))
    assert mailer.send([mail]) == [None]  # ... and the runner is gone
    assert send_messages(private_committed, lambda: NOW + LEASE / 2, env) == 0  # still its
    assert send_messages(private_committed, lambda: NOW + LEASE * 2, env) == 1
    assert send_messages(private_committed, lambda: NOW + LEASE * 4, env) == 0
    assert inbox.ids() == [mail.message_id] * 2


FACTS = {"child": "Amal", "partner": "TSV Hamm", "amount_cents": 1500, "start": "01.04.2026"}
FACTS |= {"left_cents": 4500, "until": "31.07.2026", "category": "lunch", "reason": "expired"}
FACTS |= {"number": "YC-7-3", "month": "11/2026", "iban_end": "3000", "reference": "M-17"}
FACTS |= {"old": "alt@example.org", "new": "neu@example.org", "payment_id": 1}
FACTS |= {"username": "tsv-hamm-7", "reason_text": "Das Angebot gibt es schon."}


@pytest.mark.parametrize("event", sorted(set(BODIES) - PARTNER_EVENTS))
def test_every_message_is_translated_into_the_family_areas_languages(event):
    english = render(event, "en", FACTS, OfficeDetails()).text
    for language in [lang for lang in FAMILY_LANGUAGES if lang != "en"]:
        assert catalog(language).gettext(SUBJECT) != SUBJECT, language
        assert catalog(language).gettext(BODIES[event]) != BODIES[event], (language, event)
        rendered = render(event, language, FACTS, OfficeDetails())
        assert "%(" not in rendered.text and rendered.text != english
        assert "Amal" in rendered.text.split("-----")[0], language
    assert json.dumps(FACTS)  # the facts a message keeps are plain JSON


@pytest.mark.parametrize("language", [lang for lang in FAMILY_LANGUAGES if lang != "en"])
def test_the_words_a_message_names_by_code_are_translated(language):
    """A category and a refusal's reason are stored as codes and written in words."""
    gettext = catalog(language).gettext
    for words in (CATEGORIES, REASONS):
        for code, text in words.items():
            assert gettext(text) != text, (language, code)
    for text in (WITH_CODE, WITHOUT_CODE, SMS_CODE):
        assert gettext(text) != text, language


@pytest.mark.parametrize("event", sorted(PARTNER_EVENTS))
def test_a_partners_message_is_german_with_english_beside(event):
    rendered = render(
        event, "ar", FACTS, OfficeDetails(family_url="https://x.example/family"), to_partner=True
    )
    german, english = rendered.text.split("-----")
    assert catalog("de").gettext(BODIES[event]) != BODIES[event]
    assert "Guten Tag" in german and "In English:" in english and "%(" not in rendered.text
    assert rendered.subject == "Eine Nachricht vom YouCard-Büro / A message from the YouCard office"
    assert "family" not in rendered.text  # the family area is not the partner's
    assert 'dir="rtl"' not in rendered.html


def test_an_erased_household_leaves_no_message_behind(private_committed, smtp):
    """A message names the family's address and its child: erasure takes it, sent or not."""
    from youcard.privacy.retention import erase_household

    inbox, env = smtp
    world = _family(private_committed)
    _block(private_committed, world)
    send_messages(private_committed, lambda: NOW, env)
    with private_committed.begin() as session:
        household = session.get(Household, world["household"])
        tell_household(
            session, household, event="card_blocked", key="later", facts={"child": "A"}, now=NOW
        )
        erase_household(session, household, NOW)
    assert _rows(private_committed) == [] and len(inbox.mails) == 1


def test_a_message_without_a_text_fails_alone_and_the_others_go(private_committed, smtp):
    inbox, env = smtp
    world = _family(private_committed)
    _block(private_committed, world)
    with private_committed.begin() as session:
        household = session.get(Household, world["household"])
        tell_household(
            session, household, event="card_blocked", key="broken", facts={}, now=NOW
        )  # its text needs the child's name: it cannot be written
    assert send_messages(private_committed, lambda: NOW, env) == 1
    first, broken = _rows(private_committed)
    assert (first.status, broken.status, broken.last_error) == (
        "sent",
        "failed",
        "no text for this message",
    )
    assert len(inbox.mails) == 1


def test_amounts_are_written_as_each_language_writes_them():
    """As the letters write them; in Arabic kept left to right inside the sentence."""
    facts = {**FACTS, "left_cents": 123_450}
    texts = {
        lang: render("money_unused", lang, facts, OfficeDetails()).text for lang in ("en", "ar")
    }
    assert "€1,234.50" in texts["en"]
    arabic, german = texts["ar"].split("-----")
    assert "\u200e\u200f1,234.50\xa0€\u200e" in arabic and "1.234,50\xa0€" in german


def test_a_reminder_points_to_the_directory_of_partners():
    office = OfficeDetails(family_url="https://youcard.hamm.example/family")
    reminder = render("money_unused", "tr", FACTS, office).text
    assert reminder.count("https://youcard.hamm.example/directory") == 2  # Turkish and German
    assert "Kartın geçtiği yerler:" in reminder and "Wo die Karte gilt:" in reminder
    assert "/directory" not in render("card_blocked", "tr", FACTS, office).text
