"""#28.1: the rules of a new benefit have one source (youcard.domain.entitlement_rules).
A differential test: random approval lines get the same verdict through the approvals
import's plan as through recording the benefit by hand, on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.domain.test_import_plan import HEADER, TODAY, _plan
from tests.factories import NOW
from youcard.domain.budget import BudgetRule
from youcard.domain.entitlement_rules import decide_new
from youcard.domain.enums import Category, Role, RuleKind
from youcard.domain.models import AuditEvent, Entitlement
from youcard.errors import DomainError
from youcard.imports.batches import record_import
from youcard.imports.confirmation import confirm_import
from youcard.operations.entitlements import approve_entitlement, record_entitlement
from youcard.policy import Staff

DAYS = st.dates(min_value=TODAY - timedelta(days=480), max_value=TODAY + timedelta(days=120))
BORN = st.dates(min_value=date(2003, 1, 1), max_value=date(2024, 12, 31))  # 1 to 23 here


@st.composite
def lines(draw):
    category = draw(st.sampled_from(list(Category)))
    valid_from = draw(DAYS)
    valid_until = valid_from + timedelta(days=draw(st.integers(min_value=-20, max_value=420)))
    existing = None
    if draw(st.booleans()):
        start = draw(DAYS)
        existing = (start, start + timedelta(days=draw(st.integers(0, 300))))
    trip_amount = draw(st.sampled_from([None, 5_000])) if category is Category.TRIPS else None
    return category, valid_from, valid_until, draw(BORN), existing, trip_amount


def _file(*lines: str) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode()


def _written(session, e: Entitlement) -> tuple:
    """What a benefit is once written: its row and its audit trail (action, actor)."""
    trail = session.execute(
        select(AuditEvent.action, AuditEvent.actor)
        .where(AuditEvent.object_type == "entitlement", AuditEvent.object_id == str(e.id))
        .order_by(AuditEvent.id)
    ).all()
    return (
        e.child_id, e.category, e.status, e.valid_from, e.valid_until, e.rule, e.accrual,
        e.amount_cents, e.units_total, e.units_per_day, e.cap_cents, e.spent_cents,
        e.recorded_by_id, e.decided_by_id, e.decision_ref, e.legal_basis, [tuple(t) for t in trail],
    )  # fmt: skip


def test_the_import_and_a_page_decide_a_new_benefit_alike(session, make):
    """The same verdict; and where both accept, the same benefit with the same trail (who
    recorded it, who approved it) through the import as recorded and approved by hand."""
    issuer = make.issuer()
    recorder = Staff.of(make.staff(issuer, Role.CASEWORKER))
    approver = Staff.of(make.staff(issuer, Role.APPROVER))
    seen: set[str] = set()

    @settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(lines())
    # each verdict the last assertion asks for, whatever the random examples reach
    @example(
        (Category.PARTICIPATION, TODAY, TODAY + timedelta(days=200), date(2015, 5, 1), None, None)
    )
    @example(
        (
            Category.PARTICIPATION,
            TODAY,
            TODAY + timedelta(days=200),
            date(2015, 5, 1),
            (TODAY - timedelta(days=10), TODAY + timedelta(days=10)),
            None,
        )
    )
    @example(
        (Category.PARTICIPATION, TODAY, TODAY + timedelta(days=420), date(2015, 5, 1), None, None)
    )
    def same_verdict(line) -> None:
        category, valid_from, valid_until, born, existing, trip_amount = line
        savepoint = session.begin_nested()
        try:
            child = make.child(issuer, birth_date=born)
            child.child_ref = f"P-{child.id}"
            if existing is not None:
                make.entitlement(child, category, period=existing)
            amount = "" if trip_amount is None else f"{trip_amount // 100},00"
            csv = (
                f"D-{child.id};H-{child.id};{child.child_ref};{child.family_name};"
                f"{child.given_name};{born.isoformat()};{category.value};"
                f"{valid_from.isoformat()};{valid_until.isoformat()};{amount};;;;;"
            )
            (plan,) = _plan(session, issuer.id, csv)
            rule = None if trip_amount is None else BudgetRule(RuleKind.TOTAL, trip_amount)
            handmade, refusal = None, ""
            by_hand = session.begin_nested()
            try:
                e = record_entitlement(
                    session,
                    child_id=child.id,
                    category=category,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    by=recorder,
                    now=NOW,
                    rule=rule,
                )
                approve_entitlement(session, entitlement_id=e.id, by=approver, now=NOW, kek=None)
                e.decision_ref = f"D-{child.id}"  # what the file calls the import's
                handmade = _written(session, e)
            except DomainError as error:
                refusal = error.code
            finally:
                by_hand.rollback()
            assert (plan.code, plan.outcome == "created") == (refusal, refusal == ""), line
            if handmade is not None:  # the same benefit and the same trail through the import
                batch = record_import(
                    session, by=recorder, data=_file(csv), file_name="b.csv", now=NOW
                )
                confirm_import(session, by=approver, batch_id=batch.id, now=NOW)
                imported = session.scalars(
                    select(Entitlement).where(Entitlement.decision_ref == f"D-{child.id}")
                ).one()
                assert _written(session, imported) == handmade, line
            seen.add(refusal or "created")
        finally:
            savepoint.rollback()

    same_verdict()
    # the examples reached every rule, not only the first one
    assert {"created", "overlapping_entitlement", "period_too_long"} <= seen, seen


def test_a_child_who_is_18_before_the_period_gets_no_participation_anywhere():
    """The import wrote such a line as a benefit with nothing in it (cap 0); both paths
    now refuse it `child_too_old`, as the page did."""
    with pytest.raises(DomainError) as refused:
        decide_new(
            category=Category.PARTICIPATION,
            valid_from=date(2026, 4, 1),
            valid_until=date(2026, 12, 31),
            rule=BudgetRule(RuleKind.MONTHLY, 1500),
            birth_date=date(2008, 2, 1),
            today=TODAY,
            taken=[],
        )
    assert refused.value.code == "child_too_old"
