"""The city's page for offline at the counter: administrators set the limits (audited, each
refusal in words), approvers read them; the month's offline risk per partner as a page and
as CSV, with the bound beside what happened."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from tests.factories import NOW, Factory
from tests.issuer.test_households import _as, _post
from tests.issuer.test_staff_login import HTTPS
from youcard.domain.enums import Category, Role
from youcard.domain.models import (
    AuditEvent,
    OfflineAllowance,
    OfflineBooking,
    OfflineLimit,
)


def _city(committed):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        admin = make.staff(issuer, Role.ADMINISTRATOR).username
        approver = make.staff(issuer, Role.APPROVER).username
        partner = make.partner(issuer, {Category.LUNCH})
        partner.name = "Mensa Ünal & Söhne — عائلة"
        child = make.child(issuer)
        card = make.card(child)
        allowance = OfflineAllowance(
            id=secrets.token_hex(16),
            partner_id=partner.id,
            device_key="device:1",
            issued_at=NOW - timedelta(hours=3),
            valid_until=NOW + timedelta(hours=21),
            limits=f'{{"{issuer.id}": {{"lunch": 800}}}}',
            signature="0" * 64,
        )
        session.add(allowance)
        session.flush()
        for n, (outcome, cents, late) in enumerate(
            [("booked", 450, False), ("booked", 300, True), ("not_covered", 450, False)]
        ):
            session.add(
                OfflineBooking(
                    issuer_id=issuer.id,
                    partner_id=partner.id,
                    allowance_id=allowance.id,
                    card_id=card.id,
                    category=Category.LUNCH,
                    amount_cents=cents,
                    service_date=NOW.date(),
                    offline_at=NOW - timedelta(hours=2),
                    received_at=NOW,
                    late=late,
                    outcome=outcome,
                    reason=None if outcome == "booked" else "insufficient_budget",
                    idempotency_key=f"k{n}",
                    request_hash=bytes(32),
                )
            )
        return issuer.id, admin, approver


def test_an_administrator_sets_the_limits_and_each_change_is_audited(app, committed):
    issuer_id, admin, _ = _city(committed)
    staff = _as(app, admin)
    page = staff.get("/admin/offline?lang=de", base_url=HTTPS).get_data(as_text=True)
    assert "Offline an der Kasse" in page and 'name="limit_lunch"' in page
    saved = _post(
        staff,
        "/admin/offline/limits",
        {
            "limit_participation": "0",
            "limit_lunch": "8,00".replace(",", "."),
            "limit_tutoring": "0",
            "limit_trips": "25.50",
        },
    )
    assert saved.status_code == 303
    with committed() as session:
        limits = {
            row.category: row.cents_per_card_day
            for row in session.scalars(
                select(OfflineLimit).where(OfflineLimit.issuer_id == issuer_id)
            )
        }
        assert limits == {Category.LUNCH: 800, Category.TRIPS: 2550}
        audited = session.scalars(
            select(AuditEvent.data).where(
                AuditEvent.issuer_id == issuer_id, AuditEvent.action == "offline_limit.set"
            )
        ).all()
        assert sorted(audited) == [
            '{"before":0,"category":"lunch","cents_per_card_day":800}',
            '{"before":0,"category":"trips","cents_per_card_day":2550}',
        ]
    refused = _post(
        staff,
        "/admin/offline/limits",
        {
            "limit_participation": "-1",
            "limit_lunch": "abc",
            "limit_tutoring": "0",
            "limit_trips": "5000",
        },
    )
    assert refused.status_code == 303
    shown = staff.get("/admin/offline?lang=de", base_url=HTTPS).get_data(as_text=True)
    assert "Mittagessen" in shown and "Bitte prüfen" in shown
    with committed() as session:
        assert session.get(OfflineLimit, (issuer_id, Category.LUNCH)).cents_per_card_day == 800


def test_the_risk_report_shows_what_happened_beside_the_bound(app, committed):
    _, _, approver = _city(committed)
    staff = _as(app, approver)
    page = staff.get("/admin/offline?lang=de&month=2026-03", base_url=HTTPS).get_data(as_text=True)
    assert "Mensa Ünal &amp; Söhne — عائلة" in page
    assert "2 · 7,50" in page and "1 · 4,50" in page  # booked offline; not covered
    assert 'name="limit_lunch"' not in page  # approvers read the limits, they do not set them
    csv = staff.get("/admin/offline/2026-03.csv", base_url=HTTPS)
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0].startswith("partner;booked_offline;booked_offline_eur;not_covered")
    # bound: no limit set yet (0) x 1 card x 2 days x 1 device
    assert lines[1] == "Mensa Ünal & Söhne — عائلة;2;7,50;1;4,50;1;1;2;1;0,00"
    assert staff.get("/admin/offline/2026-13.csv", base_url=HTTPS).status_code == 404
    empty = staff.get("/admin/offline?lang=de&month=2026-02", base_url=HTTPS).get_data(as_text=True)
    assert "Keine Offline-Buchungen in diesem Monat." in empty
    assert _post(staff, "/admin/offline/limits", {"limit_lunch": "1"}).status_code == 403
