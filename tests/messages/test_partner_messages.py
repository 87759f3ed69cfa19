"""#29: partners hear by e-mail, in German with English beside it, what concerns their
money: a credit note ready (its PDF attached), a monthly booking under a mandate refused,
bank details asked for and confirmed, a new contact address (told to the old and the new).
A partner without a contact address hears nothing; the office page sets the address."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import NOW, Factory, at_counter, trusted
from youcard.domain.budget import BudgetRule, RuleKind
from youcard.domain.enums import Category, Role
from youcard.domain.models import Issuer, OutboxMessage, Partner
from youcard.errors import InvalidRequest
from youcard.messages.sending import send_messages
from youcard.operations import partner_details
from youcard.operations.booking import book
from youcard.operations.instalments import book_due_instalments
from youcard.operations.mandates import MandateTerms, create_mandate
from youcard.operations.settlements import finalize, prepare
from youcard.policy import Counter, Staff

APRIL_2 = datetime(2026, 4, 2, 8, 0, tzinfo=UTC)


def _rows(sessions, partner_id):
    with sessions() as session:
        return session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.partner_id == partner_id)
            .order_by(OutboxMessage.id)
        ).all()


def _city(sessions, contact="kasse@tsv-hamm.example"):
    with sessions.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        child = make.child(issuer)
        make.entitlement(child, Category.PARTICIPATION, rule=BudgetRule(RuleKind.TOTAL, 50_000))
        card = make.card(child)
        partner = make.partner(issuer, {Category.PARTICIPATION})
        partner.name, partner.contact_email = "TSV Hamm 09", contact
        admins = [make.staff(issuer, Role.ADMINISTRATOR) for _ in range(2)]
        return {
            "issuer": issuer.id,
            "partner": partner.id,
            "credential": card.credential,
            "admins": [Staff.of(admin) for admin in admins],
            "username": admins[0].username,
        }


def test_a_finalized_settlement_sends_each_partner_its_credit_note_as_a_pdf(
    private_committed, smtp
):
    inbox, env = smtp
    city = _city(private_committed)
    with private_committed.begin() as session:
        book(
            session,
            by=at_counter(city["partner"]),
            credential=city["credential"],
            trusted=trusted(session),
            category=Category.PARTICIPATION,
            amount_cents=2_350,
            idempotency_key="march",
            now=datetime(2026, 3, 10, 10, tzinfo=UTC),
        )
        silent = Factory(session).partner(session.get(Issuer, city["issuer"]))
        silent_id = silent.id  # no contact address: hears nothing
    with private_committed.begin() as session:
        run = prepare(session, by=city["admins"][0], month=date(2026, 3, 1), now=APRIL_2)
        finalize(session, settlement_id=run.id, by=city["admins"][0], now=APRIL_2)
    (row,) = _rows(private_committed, city["partner"])
    assert (row.event, row.address, row.language) == (
        "credit_note_ready",
        "kasse@tsv-hamm.example",
        "de",
    )
    assert _rows(private_committed, silent_id) == []
    assert send_messages(private_committed, lambda: APRIL_2 + timedelta(minutes=1), env) == 1
    (mail,) = inbox.mails
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "23,50\xa0€" in text and "03/2026" in text and "endet" not in mail["Subject"]
    assert "In English:" in text and "Your credit note" in text
    (pdf,) = [part for part in mail.iter_attachments()]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename().startswith("gutschrift-") and pdf.get_content()[:5] == b"%PDF-"
    assert "3000" in text and "DE89370400440532013000" not in text  # the account's end only


def test_a_refused_monthly_booking_tells_the_partner_once(private_committed):
    city = _city(private_committed)
    with private_committed.begin() as session:
        partner = session.get(Partner, city["partner"])
        create_mandate(
            session,
            by=Counter(partner.id, partner.name, frozenset(), device_id=None),
            credential=city["credential"],
            trusted=trusted(session),
            terms=MandateTerms(
                category="participation",
                reference="M-4711",
                monthly_amount_cents=60_000,  # more than the whole budget
                day_of_month=20,
            ),
            now=NOW,
        )
    for _ in range(2):  # the job runs again: told once
        book_due_instalments(private_committed, lambda: NOW + timedelta(days=5))
    (row,) = _rows(private_committed, city["partner"])
    facts = json.loads(row.facts)
    assert row.event == "instalment_refused"
    assert (facts["reference"], facts["month"], facts["reason"], facts["amount_cents"]) == (
        "M-4711",
        "03/2026",
        "insufficient_budget",
        60_000,
    )


def test_bank_details_are_told_when_asked_and_when_confirmed(private_committed):
    city = _city(private_committed)
    first, second = city["admins"]
    with private_committed.begin() as session:
        partner_details.request_iban_change(
            session, by=first, partner_id=city["partner"], iban="DE02120300000000202051", now=NOW
        )
    later = NOW + timedelta(hours=2)
    with private_committed.begin() as session:
        partner_details.confirm_iban_change(
            session, by=second, partner_id=city["partner"], now=later
        )
    rows = _rows(private_committed, city["partner"])
    assert [(row.event, json.loads(row.facts)["iban_end"]) for row in rows] == [
        ("bank_details_asked", "2051"),
        ("bank_details_changed", "2051"),
    ]


def test_the_contact_address_is_checked_like_a_familys(session, make):
    issuer = make.issuer()
    partner = make.partner(issuer)
    admin = Staff.of(make.staff(issuer, Role.ADMINISTRATOR))
    for bad, code in (
        ("kein-at-zeichen", "invalid_email"),
        ("a@b@c.example", "invalid_email"),
        ("x" * 250 + "@example.org", "field_too_long"),
        ("kasse@tsv.example\u202e", "invalid_text"),
    ):
        with pytest.raises(InvalidRequest) as caught:
            partner_details.set_partner_contact(
                session, by=admin, partner_id=partner.id, email=bad, now=NOW
            )
        assert caught.value.code == code, bad
    assert partner.contact_email is None
