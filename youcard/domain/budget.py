"""Budget rules as pure functions: what an entitlement holds on a given day.

No database here. A "month of the period" begins on the period's first day and
then on the same day of each following month (clamped to the month's last day,
so a period from 31 January has months beginning 29 February, 31 March, ...):
a 12-month period always holds 12 monthly amounts, also when it starts mid-month.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from youcard.domain.enums import Accrual, Category, RuleKind

ADULT_AGE_YEARS = 18


@dataclass(frozen=True)
class BudgetRule:
    """How an entitlement's budget is measured (see `Entitlement.amount_cents`)."""

    kind: RuleKind
    amount_cents: int
    accrual: Accrual = Accrual.ACCRUE
    units_total: int | None = None
    units_per_day: int | None = None

    def __post_init__(self) -> None:
        if type(self.amount_cents) is not int or self.amount_cents <= 0:
            raise ValueError("amount_cents must be a positive integer")
        if self.kind is not RuleKind.UNITS and (
            self.units_total is not None or self.units_per_day is not None
        ):
            raise ValueError("only unit rules count units")
        for name in ("units_total", "units_per_day"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value <= 0):
                raise ValueError(f"{name} must be a positive integer")

    @classmethod
    def of_row(cls, row: Any) -> BudgetRule:
        """The rule of an entitlements row read with Core (columns rule, amount_cents,
        accrual, units_total, units_per_day)."""
        return cls(
            kind=RuleKind(row.rule),
            amount_cents=row.amount_cents,
            accrual=Accrual(row.accrual),
            units_total=row.units_total,
            units_per_day=row.units_per_day,
        )


@dataclass(frozen=True)
class Period:
    """An inclusive range of days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("period ends before it starts")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class Available:
    """What is left: cents (None: no money limit) and units (None: units are not counted)."""

    cents: int | None
    units: int | None


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, clamped to that month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def adult_from(birth_date: date) -> date:
    """The first day on which a child born on `birth_date` is 18 (§§ 187, 188 BGB).

    Born on 29 February: in a year without one, the 18th birthday is 1 March.
    """
    year = birth_date.year + ADULT_AGE_YEARS
    if (birth_date.month, birth_date.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 3, 1)
    return birth_date.replace(year=year)


def effective_period(
    valid_from: date, valid_until: date, *, category: Category, birth_date: date | None
) -> Period | None:
    """The days an entitlement can be used; participation ends the day before the 18th birthday.

    None when nothing of the approval period is left (the child is already 18). A birth date
    erased (youcard.privacy.retention, years after the last entitlement ended) no longer shortens
    the period: the period itself is long over.
    """
    end = valid_until
    if category is Category.PARTICIPATION and birth_date is not None:
        end = min(end, adult_from(birth_date) - timedelta(days=1))
    if end < valid_from:
        return None
    return Period(valid_from, end)


def months_begun(period: Period, on: date) -> int:
    """How many months of the period have begun by day `on` (0 before the start)."""
    if on < period.start:
        return 0
    day = min(on, period.end)
    k = (day.year - period.start.year) * 12 + (day.month - period.start.month)
    if add_months(period.start, k) > day:
        k -= 1
    return k + 1


def cap_cents(rule: BudgetRule, period: Period) -> int | None:
    """The most money the whole period can ever hold; None when only units limit it."""
    if rule.kind is RuleKind.MONTHLY:
        return rule.amount_cents * months_begun(period, period.end)
    if rule.kind is RuleKind.TOTAL:
        return rule.amount_cents
    if rule.units_total is None:
        return None
    return rule.amount_cents * rule.units_total


def entitled_cents(rule: BudgetRule, period: Period, on: date) -> int | None:
    """The money the entitlement has granted by day `on` in all (spent or not)."""
    if on < period.start:
        return 0
    if rule.kind is RuleKind.MONTHLY and rule.accrual is Accrual.ACCRUE:
        return rule.amount_cents * months_begun(period, on)
    return cap_cents(rule, period)


def available(
    rule: BudgetRule, period: Period, on: date, *, spent_cents: int, spent_units: int
) -> Available:
    """What is left on day `on`, given what has been spent; never negative."""
    entitled = entitled_cents(rule, period, on)
    cents = None if entitled is None else max(0, entitled - spent_cents)
    units = None
    if rule.kind is RuleKind.UNITS and rule.units_total is not None:
        units = max(0, rule.units_total - spent_units)
    return Available(cents=cents, units=units)


def max_amount_for_units(rule: BudgetRule, units: int) -> int:
    """The most that `units` units may cost under a unit rule's per-unit cap."""
    if rule.kind is not RuleKind.UNITS:
        raise ValueError("not a unit rule")
    return rule.amount_cents * units
