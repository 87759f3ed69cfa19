"""One source for the booking write (#15.2, STYLE.md habit 12): the PostgreSQL function
`youcard_book` installed by the migrations is the packaged youcard/sql/youcard_book.sql, and
it writes exactly what the Python statements (`write_statements`, used on SQLite) write,
for the same generated inputs: the same outcome, counters, daily usage, booking and audit."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from tests.factories import NOW
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import BookingKind, Category, EntitlementStatus, RuleKind
from youcard.domain.models import AuditEvent, Booking, DailyUsage, Entitlement
from youcard.operations.booking import write as booking_write
from youcard.operations.booking.write import BookingWrite

DAY = date(2026, 3, 16)


def _postgres_only(session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the function exists on PostgreSQL only")


def book_function_sql() -> str:
    """The packaged source of the PostgreSQL function `youcard_book` (the migrations
    install frozen copies of it)."""
    return (files("youcard") / "sql" / "youcard_book.sql").read_text(encoding="utf-8")


def test_the_installed_function_is_the_packaged_source(session):
    """Drift: `alembic check` cannot see functions; this compares PostgreSQL's own rendering
    of the installed function with that of the packaged file, installed under another name."""
    _postgres_only(session)
    source = book_function_sql()
    assert source.count("CREATE FUNCTION youcard_book(") == 1
    connection = session.connection()
    connection.exec_driver_sql(
        source.replace("CREATE FUNCTION youcard_book(", "CREATE FUNCTION youcard_book_drift(")
    )
    installed = connection.scalar(text("SELECT pg_get_functiondef('youcard_book'::regproc)"))
    packaged = connection.scalar(text("SELECT pg_get_functiondef('youcard_book_drift'::regproc)"))
    assert packaged.replace("youcard_book_drift(", "youcard_book(") == installed


def test_a_changed_source_is_noticed(session):
    """The drift test would fail for a function that differs in one character."""
    _postgres_only(session)
    connection = session.connection()
    changed = book_function_sql().replace("'booked'", "'booked!'")
    connection.exec_driver_sql(
        changed.replace("CREATE FUNCTION youcard_book(", "CREATE FUNCTION youcard_book_drift(")
    )
    installed = connection.scalar(text("SELECT pg_get_functiondef('youcard_book'::regproc)"))
    packaged = connection.scalar(text("SELECT pg_get_functiondef('youcard_book_drift'::regproc)"))
    assert packaged.replace("youcard_book_drift(", "youcard_book(") != installed


@pytest.fixture
def ground(make):
    """One entitlement counted in units with no limits of its own (the limits come with each
    write, as the booking passes them), a card and a partner."""
    issuer = make.issuer()
    child = make.child(issuer)
    entitlement = make.entitlement(
        child, Category.LUNCH, rule=BudgetRule(RuleKind.UNITS, 500, units_per_day=None)
    )
    return {
        "entitlement": entitlement,
        "card": make.card(child),
        "partner": make.partner(issuer, {Category.LUNCH}),
        "issuer_id": issuer.id,
    }


writes = st.fixed_dictionaries(
    {
        "status": st.sampled_from([EntitlementStatus.APPROVED, EntitlementStatus.REVOKED]),
        "spent_cents": st.integers(0, 3000),
        "spent_units": st.integers(0, 6),
        "daily_before": st.none() | st.integers(0, 3),
        "replay": st.booleans(),
        "amount_cents": st.integers(1, 2500),
        "units": st.integers(0, 3),
        "entitled_cents": st.none() | st.integers(0, 5000),
        "units_total": st.none() | st.integers(1, 10),
        "units_per_day": st.none() | st.integers(1, 3),
        "reference": st.none() | st.text(alphabet="abc 12", max_size=5),
        "service_day": st.integers(0, 2),
    }
)


def _state(session, g: dict[str, Any], key: str) -> tuple[Any, ...]:
    """What a write can change, without the ids the sequences hand out."""
    e_id, partner_id = g["entitlement"].id, g["partner"].id
    counters = session.execute(
        select(Entitlement.spent_cents, Entitlement.spent_units).where(Entitlement.id == e_id)
    ).one()
    daily = sorted(
        session.execute(
            select(DailyUsage.service_date, DailyUsage.units).where(
                DailyUsage.entitlement_id == e_id
            )
        ).all()
    )
    booked = session.execute(
        select(
            Booking.id,
            Booking.kind,
            Booking.category,
            Booking.amount_cents,
            Booking.units,
            Booking.service_date,
            Booking.reference,
            Booking.request_hash,
            Booking.card_id,
            Booking.device_token_id,
            Booking.created_at,
        ).where(Booking.partner_id == partner_id, Booking.idempotency_key == key)
    ).all()
    audit = session.execute(
        select(AuditEvent.actor, AuditEvent.action, AuditEvent.object_type, AuditEvent.data)
        .where(AuditEvent.object_type == "booking")
        .where(AuditEvent.object_id.in_([str(row.id) for row in booked]))
    ).all()
    return (tuple(counters), daily, [tuple(row)[1:] for row in booked], sorted(audit))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=writes)
def test_the_function_and_the_statements_write_the_same(session, ground, case):
    _postgres_only(session)
    g = ground
    e = g["entitlement"]
    key = "diff-key"
    service_date = DAY - timedelta(days=case["service_day"])
    outer = session.begin_nested()
    try:
        session.execute(
            Entitlement.__table__.update()
            .where(Entitlement.id == e.id)
            .values(
                status=case["status"],
                spent_cents=case["spent_cents"],
                spent_units=case["spent_units"],
            )
        )
        if case["daily_before"] is not None:
            session.add(
                DailyUsage(
                    entitlement_id=e.id,
                    service_date=service_date,
                    issuer_id=g["issuer_id"],
                    units=case["daily_before"],
                )
            )
        if case["replay"]:  # a twin request with this key committed first
            session.add(
                Booking(
                    issuer_id=g["issuer_id"],
                    partner_id=g["partner"].id,
                    entitlement_id=e.id,
                    card_id=g["card"].id,
                    kind=BookingKind.BOOKING,
                    category=Category.LUNCH,
                    amount_cents=999,
                    units=1,
                    service_date=service_date,
                    idempotency_key=key,
                    request_hash=b"\x01" * 32,
                    created_at=NOW,
                )
            )
        session.flush()
        write = BookingWrite(
            issuer_id=g["issuer_id"],
            partner_id=g["partner"].id,
            entitlement_id=e.id,
            card_id=g["card"].id,
            category=Category.LUNCH.value,
            amount_cents=case["amount_cents"],
            units=case["units"],
            service_date=service_date,
            reference=case["reference"],
            idempotency_key=key,
            request_hash=b"\x02" * 32,
            device_token_id=None,
            created_at=NOW,
            entitled_cents=case["entitled_cents"],
            units_total=case["units_total"],
            units_per_day=case["units_per_day"],
            actor="device:7",
            audit_data='{"amount_cents":1}',
        )
        results = []
        for run in (booking_write.write_statements, _call_function):
            inner = session.begin_nested()
            written = run(session, write)
            session.expire_all()
            results.append(
                (
                    dataclasses.replace(written, booking_id=written.booking_id is not None),
                    _state(session, g, key),
                )
            )
            inner.rollback()
        assert results[0] == results[1], case
        event(results[0][0].outcome)  # --hypothesis-show-statistics: every outcome is reached
    finally:
        outer.rollback()


def _call_function(session, write: BookingWrite) -> Any:
    """The PostgreSQL function, called as `_write` calls it."""
    (row,) = booking_write.BOOK_CALL.rows(session.connection(), vars(write))
    return booking_write.Written(
        row.outcome, row.booking_id, row.new_spent_cents, row.new_spent_units
    )
