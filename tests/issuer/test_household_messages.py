"""#29: a family's page shows how the family can be reached, what it was told and when, and
a delivery failure in words; a new address is tried again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories import NOW, Factory
from tests.issuer.test_households import _as, _post
from youcard.domain.enums import Role
from youcard.domain.models import Household, OutboxMessage
from youcard.messages.events import card_blocked
from youcard.messages.sending import send_messages


def _family_with_messages(committed, smtp_env):
    """A family with an e-mail address that works and a phone number that does not: one
    blocked card told by both, the e-mail sent, the SMS refused."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        caseworker = make.staff(issuer, Role.CASEWORKER).username
        household = make.household(issuer)
        household.email = "familie.yilmaz-oezdemir@example.org"
        household.phone = "12"  # no SMS reaches it
        card = make.card(make.child(issuer, household=household))
        card_blocked(session, card, NOW)
    env = {**smtp_env, "YOUCARD_SMS_URL": "json://127.0.0.1:9/sms?:to={to}"}
    send_messages(committed, lambda: NOW + timedelta(minutes=1), env)
    return household.id, caseworker


def test_the_familys_page_shows_its_channels_and_what_it_was_told(app, committed, smtp):
    _, env = smtp
    household_id, caseworker = _family_with_messages(committed, env)
    page = _as(app, caseworker).get(f"/households/{household_id}?lang=de").get_data(as_text=True)
    assert "Nachrichten an die Familie" in page
    assert "familie.yilmaz-oezdemir@example.org" in page
    assert "unzustellbar seit" in page and "bitte die Familie nach einer anderen Nummer" in page
    assert page.count("Karte gesperrt") == 2  # by e-mail and by SMS
    assert "gesendet" in page and "nicht zugestellt" in page


def test_a_new_number_is_tried_again(committed, smtp):
    from youcard.domain.contacts import Contact
    from youcard.operations.contacts import apply_contact

    _, env = smtp
    household_id, _ = _family_with_messages(committed, env)
    with committed.begin() as session:
        household = session.get(Household, household_id)
        assert household.phone_undeliverable_at is not None
        apply_contact(household, Contact(email=household.email, phone="0170 1234567"))
    with committed() as session:
        household = session.get(Household, household_id)
        assert household.phone_undeliverable_at is None
        states = session.scalars(
            select(OutboxMessage.status)
            .where(OutboxMessage.household_id == household_id)
            .order_by(OutboxMessage.id)
        ).all()
    assert states == ["sent", "failed"]  # what went before stays as it went


def test_the_outbox_page_lists_filters_and_sends_again_once_the_family_can_be_reached(
    app, committed, smtp
):
    _, env = smtp
    household_id, caseworker = _family_with_messages(committed, env)
    client = _as(app, caseworker)
    page = client.get("/messages?lang=de").get_data(as_text=True)
    assert "Nachrichten an Familien" in page and page.count("Karte gesperrt") == 2
    assert "wartet: 0 · gesendet: 1 · nicht zugestellt: 1" in page
    failed = client.get("/messages?state=failed&channel=sms").get_data(as_text=True)
    assert failed.count("Karte gesperrt") == 1 and "Erneut senden" in failed
    with committed() as session:
        (sms_id,) = session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.household_id == household_id, OutboxMessage.channel == "sms"
            )
        ).all()
    refused = _post(client, f"/messages/{sms_id}/resend")
    assert refused.status_code == 303
    page = client.get("/messages?state=failed").get_data(as_text=True)
    # the number is still undeliverable
    assert "die Familie oder der Partner ist so nicht erreichbar" in page
    with committed.begin() as session:
        from youcard.domain.contacts import Contact
        from youcard.operations.contacts import apply_contact

        household = session.get(Household, household_id)
        apply_contact(household, Contact(email=household.email, phone="0170 1234567"))
    assert _post(client, f"/messages/{sms_id}/resend").status_code == 303
    with committed() as session:
        message = session.get(OutboxMessage, sms_id)
        assert (message.status, message.attempts, message.address) == (
            "waiting",
            0,
            "0170 1234567",
        )
    # another city's staff neither see nor send it
    with committed.begin() as session:
        make = Factory(session)
        stranger = make.staff(make.issuer(), Role.ADMINISTRATOR).username
    other = _as(app, stranger)
    assert "Karte gesperrt" not in other.get("/messages").get_data(as_text=True)
    page = _post(other, f"/messages/{sms_id}/resend")
    assert page.status_code == 303
    assert "diese Nachricht gibt es nicht" in other.get("/messages").get_data(as_text=True)


def test_the_reports_page_shows_reminders_and_take_up(app, committed):
    with committed.begin() as session:
        make = Factory(session)
        approver = make.staff(make.issuer(), Role.APPROVER).username
    page = _as(app, approver).get("/admin/reports?year=2026").get_data(as_text=True)
    assert "Erinnerungen und Inanspruchnahme" in page and "Nicht erinnert" in page
    assert "erreicht: 0 von 0" in page


def test_no_address_or_message_reaches_the_request_log(app, committed, smtp, caplog):
    """The pages that show addresses and messages, and the job that sends them: their log
    lines name paths, states and ids, never an address, a number or a message's text."""
    import logging

    _, env = smtp
    with caplog.at_level(logging.DEBUG):
        household_id, caseworker = _family_with_messages(committed, env)
        client = _as(app, caseworker)
        client.get(f"/households/{household_id}")
        client.get("/messages?state=failed")
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("youcard", "issuer"))]
    assert any("/messages" in line for line in ours)  # the request log did write
    for line in ours:
        assert "example.org" not in line and "yilmaz" not in line
        assert "gesperrt" not in line and "blocked" not in line
