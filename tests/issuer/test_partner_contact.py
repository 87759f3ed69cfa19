"""#29: the office sets where a partner's messages go; a new address is told to the old one
and the new one (a change made to divert the city's messages does not go unnoticed)."""

from __future__ import annotations

from sqlalchemy import select

from tests.issuer.test_households import _as, _post
from tests.messages.test_partner_messages import _city
from youcard.domain.models import OutboxMessage, Partner


def _rows(sessions, partner_id):
    with sessions() as session:
        return session.scalars(
            select(OutboxMessage).where(OutboxMessage.partner_id == partner_id)
        ).all()


def test_a_new_contact_address_is_told_to_the_old_and_the_new(app, committed):
    city = _city(committed, contact="alt@tsv-hamm.example")
    client = _as(app, city["username"])
    page = f"/admin/partners/{city['partner']}"
    answer = _post(client, f"{page}/contact", {"value": "neu@tsv-hamm.example"})
    assert answer.status_code == 303
    rows = _rows(committed, city["partner"])
    assert sorted(row.address for row in rows) == ["alt@tsv-hamm.example", "neu@tsv-hamm.example"]
    assert {row.event for row in rows} == {"contact_changed"}
    shown = client.get(f"{page}?lang=de").get_data(as_text=True)
    assert 'value="neu@tsv-hamm.example"' in shown and "E-Mail für Nachrichten" in shown
    refused = _post(client, f"{page}/contact", {"value": "not an address"})
    assert refused.status_code == 303
    with committed() as session:
        assert session.get(Partner, city["partner"]).contact_email == "neu@tsv-hamm.example"


def test_a_partners_undelivered_message_is_listed_and_sent_again_to_its_new_address(
    app, committed, smtp
):
    from datetime import timedelta

    from tests.factories import NOW
    from youcard.messages.sending import send_messages
    from youcard.operations import partner_details

    _, env = smtp
    city = _city(committed, contact="kasse@refused.example")  # the server refuses it: 550
    with committed.begin() as session:
        partner_details.request_iban_change(
            session,
            by=city["admins"][0],
            partner_id=city["partner"],
            iban="DE02120300000000202051",
            now=NOW,
        )
    send_messages(committed, lambda: NOW + timedelta(minutes=1), env)
    (row,) = _rows(committed, city["partner"])
    assert row.status == "failed"
    client = _as(app, city["username"])
    listed = client.get("/messages?state=failed&lang=de").get_data(as_text=True)
    assert "TSV Hamm 09" in listed and "(Partner)" in listed
    assert "Neue Bankverbindung eingetragen" in listed
    assert "Nachrichten an Familien und Partner" in listed
    page = f"/admin/partners/{city['partner']}"
    _post(client, f"{page}/contact", {"value": "buchhaltung@tsv-hamm.example"})
    assert _post(client, f"/messages/{row.id}/resend").status_code in (302, 303)
    with committed() as session:
        again = session.get(OutboxMessage, row.id)
        assert (again.status, again.address) == ("waiting", "buchhaltung@tsv-hamm.example")
