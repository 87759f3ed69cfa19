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
