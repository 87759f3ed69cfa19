"""Budget rules as pure functions: examples and properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from youcard.domain import budget
from youcard.domain.budget import (
    BudgetRule,
    Period,
    add_months,
    adult_from,
    effective_period,
    months_begun,
)
from youcard.domain.enums import Accrual, Category, RuleKind

MONTHLY = BudgetRule(RuleKind.MONTHLY, 1500)
UPFRONT = BudgetRule(RuleKind.MONTHLY, 1500, Accrual.UPFRONT)
TOTAL = BudgetRule(RuleKind.TOTAL, 25000)
HOURS = BudgetRule(RuleKind.UNITS, 2500, units_total=35)
MEALS = BudgetRule(RuleKind.UNITS, 500, units_per_day=1)

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
rules = st.sampled_from([MONTHLY, UPFRONT, TOTAL, HOURS])


@st.composite
def periods(draw):
    start = draw(dates)
    months = draw(st.integers(min_value=1, max_value=24))
    return Period(start, add_months(start, months) - timedelta(days=1))


def test_add_months_clamps_to_the_end_of_the_month():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 3, 15), -3) == date(2025, 12, 15)


def test_accrual_month_by_month():
    period = Period(date(2026, 1, 1), date(2026, 12, 31))
    on = {
        d: budget.entitled_cents(MONTHLY, period, d)
        for d in [
            date(2025, 12, 31),
            date(2026, 1, 1),
            date(2026, 1, 31),
            date(2026, 2, 1),
            date(2026, 12, 31),
            date(2027, 6, 1),
        ]
    }
    assert list(on.values()) == [0, 1500, 1500, 3000, 18000, 18000]


def test_a_period_starting_mid_month_holds_twelve_months():
    period = Period(date(2026, 1, 15), date(2027, 1, 14))
    assert budget.cap_cents(MONTHLY, period) == 12 * 1500
    assert months_begun(period, date(2026, 2, 14)) == 1
    assert months_begun(period, date(2026, 2, 15)) == 2


def test_a_period_starting_on_the_31st():
    period = Period(date(2026, 1, 31), date(2027, 1, 30))
    assert months_begun(period, date(2026, 2, 27)) == 1
    assert months_begun(period, date(2026, 2, 28)) == 2  # February has no 31st
    assert months_begun(period, date(2026, 3, 30)) == 2
    assert months_begun(period, date(2026, 3, 31)) == 3
    assert budget.cap_cents(MONTHLY, period) == 12 * 1500


def test_the_18th_birthday():
    assert adult_from(date(2008, 3, 1)) == date(2026, 3, 1)
    assert adult_from(date(2008, 2, 29)) == date(2026, 3, 1)  # §§ 187, 188 BGB
    assert adult_from(date(2010, 2, 28)) == date(2028, 2, 28)
    assert adult_from(date(2012, 2, 29)) == date(2030, 3, 1)


def test_participation_ends_the_day_before_the_18th_birthday():
    period = effective_period(
        date(2026, 1, 1),
        date(2026, 12, 31),
        category=Category.PARTICIPATION,
        birth_date=date(2008, 7, 20),
    )
    assert period == Period(date(2026, 1, 1), date(2026, 7, 19))
    assert budget.cap_cents(MONTHLY, period) == 7 * 1500
    # Other categories are not cut; a child already 18 has no participation at all.
    assert effective_period(
        date(2026, 1, 1),
        date(2026, 12, 31),
        category=Category.TUTORING,
        birth_date=date(2008, 7, 20),
    ) == Period(date(2026, 1, 1), date(2026, 12, 31))
    assert (
        effective_period(
            date(2026, 1, 1),
            date(2026, 12, 31),
            category=Category.PARTICIPATION,
            birth_date=date(2007, 12, 31),
        )
        is None
    )


def test_units_rules():
    period = Period(date(2026, 1, 1), date(2026, 12, 31))
    assert budget.cap_cents(HOURS, period) == 35 * 2500
    assert budget.cap_cents(MEALS, period) is None
    left = budget.available(HOURS, period, date(2026, 5, 1), spent_cents=5000, spent_units=2)
    assert (left.cents, left.units) == (35 * 2500 - 5000, 33)
    assert budget.available(MEALS, period, date(2026, 5, 1), spent_cents=900, spent_units=2) == (
        budget.Available(cents=None, units=None)
    )
    assert budget.max_amount_for_units(MEALS, 2) == 1000


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kind=RuleKind.MONTHLY, amount_cents=0),
        dict(kind=RuleKind.MONTHLY, amount_cents=15.0),
        dict(kind=RuleKind.TOTAL, amount_cents=True),
        dict(kind=RuleKind.MONTHLY, amount_cents=1500, units_total=3),
        dict(kind=RuleKind.UNITS, amount_cents=500, units_per_day=0),
    ],
)
def test_invalid_rules_are_refused(kwargs):
    with pytest.raises(ValueError, match=r"must be|only unit rules"):
        BudgetRule(**kwargs)


@given(rule=rules, period=periods(), day=dates)
def test_entitled_never_negative_and_never_above_the_period_total(rule, period, day):
    entitled = budget.entitled_cents(rule, period, day)
    cap = budget.cap_cents(rule, period)
    assert entitled is not None and cap is not None
    assert 0 <= entitled <= cap


@given(period=periods(), a=dates, b=dates)
def test_accrual_grows_with_the_date(period, a, b):
    early, late = min(a, b), max(a, b)
    assert budget.entitled_cents(MONTHLY, period, early) <= budget.entitled_cents(
        MONTHLY, period, late
    )


@given(period=periods(), day=dates, spent=st.integers(min_value=0, max_value=100_000))
def test_available_is_never_negative(period, day, spent):
    left = budget.available(MONTHLY, period, day, spent_cents=spent, spent_units=0)
    assert left.cents is not None and left.cents >= 0


@given(start=dates, months=st.integers(min_value=1, max_value=24))
def test_a_period_of_n_months_holds_n_amounts(start, months):
    period = Period(start, add_months(start, months) - timedelta(days=1))
    assert budget.cap_cents(MONTHLY, period) == months * 1500
    assert budget.entitled_cents(MONTHLY, period, period.end) == months * 1500
    assert budget.entitled_cents(UPFRONT, period, period.start) == months * 1500
    assert budget.entitled_cents(MONTHLY, period, period.start) == 1500


@given(
    start=dates,
    months=st.integers(min_value=1, max_value=24),
    k=st.integers(min_value=0, max_value=23),
)
def test_each_month_adds_exactly_one_amount_on_its_first_day(start, months, k):
    period = Period(start, add_months(start, months) - timedelta(days=1))
    if k >= months:
        return
    first_day = add_months(start, k)
    assert months_begun(period, first_day) == k + 1
    if first_day > start:
        assert months_begun(period, first_day - timedelta(days=1)) == k


@given(birth=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)))
def test_participation_never_reaches_the_18th_birthday(birth):
    adult = adult_from(birth)
    assert (adult.year - birth.year) == 18
    assert adult - timedelta(days=1) < adult
    period = effective_period(
        adult - timedelta(days=400),
        adult + timedelta(days=400),
        category=Category.PARTICIPATION,
        birth_date=birth,
    )
    assert period is not None and period.end == adult - timedelta(days=1)
    assert adult not in period
