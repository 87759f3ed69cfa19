"""The booking ledger's rules, at the operation level, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import KEK, NOW, at_counter
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import (
    Accrual,
    BookingKind,
    CardStatus,
    Category,
    EntitlementStatus,
    PartnerStatus,
    RuleKind,
)
from youcard.domain.models import AuditEvent, Booking, Entitlement
from youcard.operations.booking import book, cancel_booking
from youcard.reads import ledger

TODAY = date(2026, 3, 16)


def _book(s, **kw):
    args = dict(
        by=at_counter(s.partner.id),
        credential=s.card.credential,
        trusted=s.trusted,
        category=s.entitlement.category,
        amount_cents=1500,
        idempotency_key="key-1",
        now=NOW,
    )
    args.update(kw)
    return args


def test_booking_moves_the_budget_and_records_everything(session, scene):
    s = scene()
    result = book(session, **_book(s, amount_cents=2000, reference="Beitrag März"))
    assert not result.replayed
    assert result.booking.amount_cents == 2000
    assert result.booking.service_date == TODAY
    assert result.booking.reference == "Beitrag März"
    # January, February and March have begun: 3 × 15 EUR accrued, 20 EUR spent.
    assert result.available.cents == 4500 - 2000
    session.refresh(s.entitlement)
    assert s.entitlement.spent_cents == 2000
    row = session.get(Booking, result.booking.id)
    assert row.kind is BookingKind.BOOKING and row.issuer_id == s.issuer.id
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.issuer_id == s.issuer.id, AuditEvent.action == "booking.create"
        )
    ).all()
    assert [e.object_id for e in events] == [str(result.booking.id)]
    assert ledger.check(session, s.issuer.id) == []


def test_the_whole_accrued_amount_can_be_booked_but_not_a_cent_more(session, scene, refused):
    s = scene()
    book(session, **_book(s, amount_cents=4500, idempotency_key="all"))
    error = refused(book, **_book(s, amount_cents=1, idempotency_key="one-more"))
    assert error.code == "insufficient_budget"
    assert error.details["available"].cents == 0


def test_upfront_monthly_rule_makes_the_whole_period_available(session, scene, refused):
    s = scene(rule=BudgetRule(RuleKind.MONTHLY, 1500, Accrual.UPFRONT))
    assert book(session, **_book(s, amount_cents=18000)).available.cents == 0
    assert (
        refused(book, **_book(s, amount_cents=1, idempotency_key="k2")).code
        == "insufficient_budget"
    )


def test_same_key_same_request_is_the_same_booking(session, scene):
    s = scene()
    first = book(session, **_book(s))
    again = book(session, **_book(s))
    assert again.replayed and again.booking.id == first.booking.id
    count = select(func.count()).where(Booking.entitlement_id == s.entitlement.id)
    assert session.scalar(count) == 1
    session.refresh(s.entitlement)
    assert s.entitlement.spent_cents == 1500


def test_same_key_other_request_is_refused(session, scene, refused):
    s = scene()
    book(session, **_book(s))
    assert refused(book, **_book(s, amount_cents=1600)).code == "idempotency_key_reused"
    assert refused(book, **_book(s, reference="other")).code == "idempotency_key_reused"


def test_idempotency_keys_belong_to_one_partner(session, scene, make):
    s = scene()
    other = make.partner(s.issuer, {Category.PARTICIPATION})
    a = book(session, **_book(s))
    b = book(session, **_book(s, by=at_counter(other.id)))
    assert a.booking.id != b.booking.id and not b.replayed


def test_category_the_partner_may_not_book(session, scene, make, refused):
    s = scene()
    lunch_only = make.partner(s.issuer, {Category.LUNCH})
    error = refused(book, **_book(s, by=at_counter(lunch_only.id)))
    assert error.code == "category_not_permitted"


def test_partner_of_another_issuer_may_not_book(session, scene, make, refused):
    s = scene()
    foreign = make.partner(make.issuer(), {Category.PARTICIPATION})
    assert refused(book, **_book(s, by=at_counter(foreign.id))).code == "category_not_permitted"


def test_suspended_partner_may_not_book(session, scene, refused):
    s = scene()
    s.partner.status = PartnerStatus.SUSPENDED
    session.flush()
    assert refused(book, **_book(s)).code == "partner_inactive"


@pytest.mark.parametrize("status", [CardStatus.REVOKED, CardStatus.REPLACED])
def test_revoked_or_replaced_card(session, scene, refused, status):
    s = scene()
    s.card.status = status
    session.flush()
    error = refused(book, **_book(s))
    assert error.code == "credential_invalid" and error.reason == "revoked"


def test_unknown_cards_and_malformed_credentials(session, scene, refused):
    from dataclasses import replace

    from youcard import credentials
    from youcard.credentials import keys
    from youcard.operations.cards import card_claims

    s = scene()
    # a genuine signature on a serial the issuer never gave out
    signer = keys.private_key_of(keys.active_key(session, s.issuer.id), KEK)
    unknown = credentials.encode(
        replace(card_claims(s.card), serial=secrets.token_bytes(16)), signer
    )
    assert refused(book, **_book(s, credential=unknown)).reason == "revoked"
    for text in ("short", "0" * 32, b"YC1:", 5, None, s.card.credential + "A"):
        assert refused(book, **_book(s, credential=text)).reason == "malformed", text


def test_a_serial_alone_books_nothing(session, scene):
    """Presenting the credential is required (docs/partner-api.md): `book` takes no serial."""
    s = scene()
    with pytest.raises(TypeError):
        book(session, **{**_book(s), "card_serial": s.card.serial, "credential": None})


def test_expired_card(session, scene, make, refused):
    s = scene()
    s.card.valid_until = TODAY - timedelta(days=1)
    session.flush()
    assert refused(book, **_book(s)).reason == "expired"


@pytest.mark.parametrize(
    "status", [EntitlementStatus.RECORDED, EntitlementStatus.REJECTED, EntitlementStatus.REVOKED]
)
def test_entitlement_that_is_not_approved(session, scene, refused, status):
    s = scene(status=status)
    assert refused(book, **_book(s)).code == "entitlement_inactive"


def test_no_entitlement_in_that_category(session, scene, make, refused):
    s = scene()
    s.partner.permissions.append(
        type(s.partner.permissions[0])(issuer_id=s.issuer.id, category=Category.TRIPS)
    )
    session.flush()
    assert refused(book, **_book(s, category=Category.TRIPS)).code == "no_entitlement"


def test_service_date_outside_the_period(session, scene, refused):
    s = scene(period=(date(2026, 2, 1), date(2027, 1, 31)))
    error = refused(book, **_book(s, service_date=date(2026, 1, 31)))
    assert error.code == "outside_period"


def test_today_outside_the_period(session, scene, refused):
    s = scene(period=(date(2025, 3, 1), date(2026, 2, 28)))
    assert refused(book, **_book(s, service_date=date(2026, 2, 20))).code == "outside_period"


def test_service_date_in_the_future(session, scene, refused):
    s = scene()
    error = refused(book, **_book(s, service_date=TODAY + timedelta(days=1)))
    assert error.code == "service_date_in_future"


def test_participation_ends_the_day_before_the_18th_birthday(session, scene, refused):
    turns_18_today = scene(birth_date=date(2008, 3, 16))
    assert refused(book, **_book(turns_18_today)).code == "outside_period"
    turns_18_tomorrow = scene(birth_date=date(2008, 3, 17))
    ok = book(session, **_book(turns_18_tomorrow, amount_cents=4500))
    assert ok.available.cents == 0


@pytest.mark.parametrize("amount", [0, -1, 1.5, "15", True, None, 10**12])
def test_bad_amounts(session, scene, refused, amount):
    s = scene()
    assert refused(book, **_book(s, amount_cents=amount)).code == "invalid_amount"


@pytest.mark.parametrize("key", ["", "x" * 201, "ä", "line\nbreak", None, 7])
def test_bad_idempotency_keys(session, scene, refused, key):
    s = scene()
    assert refused(book, **_book(s, idempotency_key=key)).code == "invalid_idempotency_key"


@pytest.mark.parametrize("reference", ["x" * 141, "tab\tin it", 12])
def test_bad_references(session, scene, refused, reference):
    s = scene()
    assert refused(book, **_book(s, reference=reference)).code == "invalid_reference"


def test_unknown_category(session, scene, refused):
    s = scene()
    assert refused(book, **_book(s, category="school_supplies")).code == "invalid_category"


def test_units_where_the_rule_counts_none(session, scene, refused):
    s = scene()
    assert refused(book, **_book(s, units=1)).code == "invalid_units"


def test_lunch_one_meal_per_day_with_a_capped_price(session, scene, refused):
    s = scene(Category.LUNCH)  # 5 EUR per meal, one per day
    assert refused(book, **_book(s, amount_cents=450)).code == "units_required"
    assert refused(book, **_book(s, amount_cents=501, units=1)).code == "unit_cap_exceeded"
    assert refused(book, **_book(s, amount_cents=900, units=2)).code == "daily_limit_reached"
    first = book(session, **_book(s, amount_cents=450, units=1))
    assert first.available.units is None and first.available.cents is None
    second = refused(book, **_book(s, amount_cents=450, units=1, idempotency_key="k2"))
    assert second.code == "daily_limit_reached"
    yesterday = book(
        session,
        **_book(
            s,
            amount_cents=450,
            units=1,
            idempotency_key="k3",
            service_date=TODAY - timedelta(days=1),
        ),
    )
    assert yesterday.booking.units == 1
    assert ledger.check(session, s.issuer.id) == []


def test_cancelled_lunch_frees_the_day(session, scene):
    s = scene(Category.LUNCH)
    first = book(session, **_book(s, amount_cents=450, units=1))
    cancel_booking(session, by=at_counter(s.partner.id), booking_id=first.booking.id, now=NOW)
    again = book(session, **_book(s, amount_cents=450, units=1, idempotency_key="k2"))
    assert again.booking.units == 1
    assert ledger.check(session, s.issuer.id) == []


def test_tutoring_hours_are_counted(session, scene, refused):
    s = scene(Category.TUTORING, rule=BudgetRule(RuleKind.UNITS, 2500, units_total=3))
    result = book(session, **_book(s, amount_cents=5000, units=2))
    assert result.available.units == 1 and result.available.cents == 2500
    assert refused(book, **_book(s, amount_cents=5000, units=2, idempotency_key="k2")).code == (
        "insufficient_budget"
    )
    book(session, **_book(s, amount_cents=2000, units=1, idempotency_key="k3"))
    session.refresh(s.entitlement)
    assert (s.entitlement.spent_units, s.entitlement.spent_cents) == (3, 7000)


def test_trips_total(session, scene, refused):
    s = scene(Category.TRIPS, rule=BudgetRule(RuleKind.TOTAL, 12000))
    assert book(session, **_book(s, amount_cents=12000)).available.cents == 0
    assert (
        refused(book, **_book(s, amount_cents=1, idempotency_key="k2")).code
        == "insufficient_budget"
    )


def test_cancel_gives_the_budget_back_exactly_once(session, scene):
    s = scene()
    booked = book(session, **_book(s, amount_cents=4500))
    first = cancel_booking(
        session, by=at_counter(s.partner.id), booking_id=booked.booking.id, now=NOW
    )
    assert not first.already_cancelled and first.available.cents == 4500
    second = cancel_booking(
        session, by=at_counter(s.partner.id), booking_id=booked.booking.id, now=NOW
    )
    assert second.already_cancelled and second.cancellation_id == first.cancellation_id
    assert second.available.cents == 4500
    session.refresh(s.entitlement)
    assert s.entitlement.spent_cents == 0
    kinds = session.scalars(
        select(Booking.kind).where(Booking.entitlement_id == s.entitlement.id).order_by(Booking.id)
    ).all()
    assert kinds == [BookingKind.BOOKING, BookingKind.CANCELLATION]
    assert ledger.check(session, s.issuer.id) == []
    replay = book(session, **_book(s, amount_cents=4500))
    assert replay.replayed and replay.booking.cancelled


def test_cancel_of_another_partners_booking_is_not_found(session, scene, make, refused):
    s = scene()
    booked = book(session, **_book(s))
    other = make.partner(s.issuer, {Category.PARTICIPATION})
    error = refused(cancel_booking, by=at_counter(other.id), booking_id=booked.booking.id, now=NOW)
    assert error.code == "booking_not_found"
    assert refused(cancel_booking, by=at_counter(s.partner.id), booking_id=10**9, now=NOW).code == (
        "booking_not_found"
    )
    assert refused(cancel_booking, by=at_counter(s.partner.id), booking_id="1", now=NOW).code == (
        "booking_not_found"
    )


def test_a_cancellation_cannot_itself_be_cancelled(session, scene, refused):
    s = scene()
    booked = book(session, **_book(s))
    c = cancel_booking(session, by=at_counter(s.partner.id), booking_id=booked.booking.id, now=NOW)
    error = refused(
        cancel_booking, by=at_counter(s.partner.id), booking_id=c.cancellation_id, now=NOW
    )
    assert error.code == "booking_not_found"


def test_cancel_works_on_a_revoked_entitlement(session, scene):
    s = scene()
    booked = book(session, **_book(s))
    s.entitlement.status = EntitlementStatus.REVOKED
    session.flush()
    cancel_booking(session, by=at_counter(s.partner.id), booking_id=booked.booking.id, now=NOW)
    session.refresh(s.entitlement)
    assert s.entitlement.spent_cents == 0


def test_ledger_check_finds_a_counter_moved_behind_its_back(session, scene):
    s = scene()
    book(session, **_book(s, amount_cents=1000))
    session.execute(
        Entitlement.__table__.update()
        .where(Entitlement.id == s.entitlement.id)
        .values(spent_cents=900)
    )
    differences = ledger.check(session, s.issuer.id)
    assert [(d.entitlement_id, d.what, d.recorded, d.recomputed) for d in differences] == [
        (s.entitlement.id, "spent_cents", 900, 1000)
    ]
    assert ledger.check(session, scene().issuer.id) == []  # another issuer's ledger is clean
    assert (s.entitlement.id, "spent_cents") in {
        (d.entitlement_id, d.what) for d in ledger.check(session)
    }


def test_database_refuses_overspend_even_without_the_guard(session, scene):
    from sqlalchemy.exc import IntegrityError

    s = scene(Category.TRIPS, rule=BudgetRule(RuleKind.TOTAL, 12000))
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            Entitlement.__table__.update()
            .where(Entitlement.id == s.entitlement.id)
            .values(spent_cents=12001)
        )


def _write_values(s, *, key, amount_cents, units=0, entitled=None, units_total=None, per_day=None):
    from youcard.operations.booking.write import BookingWrite

    return BookingWrite(
        issuer_id=s.issuer.id,
        partner_id=s.partner.id,
        entitlement_id=s.entitlement.id,
        card_id=s.card.id,
        category=s.entitlement.category.value,
        amount_cents=amount_cents,
        units=units,
        service_date=TODAY,
        reference=None,
        idempotency_key=key,
        request_hash=b"\x01" * 32,
        device_token_id=None,
        created_at=NOW,
        entitled_cents=entitled,
        units_total=units_total,
        units_per_day=per_day,
        actor="test",
        audit_data="{}",
    )


def test_each_write_step_that_refuses_undoes_the_steps_before_it(session, scene):
    """The booking's writes (one `youcard_book` call on PostgreSQL, statements on SQLite):
    a twin's key, the per-day guard or the overspend guard leave no trace."""
    from tests.domain.conftest import state
    from youcard.domain.models import DailyUsage
    from youcard.operations.booking.write import write_booking as _write

    s = scene(Category.LUNCH)  # 5 EUR per meal, one per day
    meal = {"amount_cents": 450, "units": 1, "units_total": 200, "per_day": 1}
    first = _write(session, _write_values(s, key="meal-1", **meal))
    assert (first.outcome, first.spent_cents, first.spent_units) == ("booked", 450, 1)
    before = state(session)
    daily = session.scalar(
        select(DailyUsage.units).where(DailyUsage.entitlement_id == s.entitlement.id)
    )

    assert _write(session, _write_values(s, key="meal-1", **{**meal, "per_day": 2})).outcome == (
        "replay"  # the same key again (a twin that committed first): both guards undone
    )
    assert _write(session, _write_values(s, key="meal-2", **meal)).outcome == "daily_limit"
    refused = _write(session, _write_values(s, key="meal-3", **{**meal, "units_total": 1}))
    assert refused.outcome == "refused"
    assert state(session) == before
    session.expire_all()
    assert (
        session.scalar(
            select(DailyUsage.units).where(DailyUsage.entitlement_id == s.entitlement.id)
        )
        == daily
        == 1
    )
    assert ledger.check(session, s.issuer.id) == []
