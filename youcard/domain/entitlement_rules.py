"""The rules of a benefit, as pure decisions (like booking_rules.decide): plain values in,
the benefit's usable period and cap out, or a refusal with its code. Recording one on a
page or the staff API (`entitlements.record_entitlement`) and planning an approvals import
line (`imports.plan`) both ask `decide_new`; an import line that changes a stored decision
asks `decide_update` or `decide_end`, and the import's write (`imported_benefits`) stores
the caps these decided. Nothing else decides.

In order (the approvals file is read in the same order): a period that ends after it
starts, a rule (trips need their amount), a plausible period (at most 12 months, at most
12 months back, tutoring within its school year), a child not yet 18 before
participation's period starts, and no other live benefit of the child in the category on
any of its days (docs/budget-rules.md).

Also here: each category's usual rule (`default_rule`, `rule_from_amount`) and what is left
of a benefit on a day (`usable_period`, `availability`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from youcard.domain import budget
from youcard.domain.budget import BudgetRule, Period
from youcard.domain.enums import Accrual, Category, RuleKind
from youcard.domain.models import Entitlement
from youcard.errors import Conflict, InvalidRequest

DEFAULT_RULES: dict[Category, BudgetRule] = {
    # 15 EUR per month of the approval period, may be saved up (§ 28 Abs. 7 SGB II).
    Category.PARTICIPATION: BudgetRule(RuleKind.MONTHLY, 1500, Accrual.ACCRUE),
    # Actual cost of one meal per day, capped per meal.
    Category.LUNCH: BudgetRule(RuleKind.UNITS, 500, units_per_day=1),
    # Tutoring hours at a capped rate, e.g. 35 hours per school year.
    Category.TUTORING: BudgetRule(RuleKind.UNITS, 2500, units_total=35),
}


def default_rule(category: Category) -> BudgetRule | None:
    """The usual rule of a category; None for trips, whose total is decided case by case."""
    return DEFAULT_RULES.get(category)


def rule_from_amount(category: Category, amount_cents: int | None) -> BudgetRule | None:
    """The rule a benefit recorded by hand gets (page and staff API alike): trips the approved
    total (None without one: record_entitlement then refuses `rule_required`, after the
    period, as the import does); every other category its usual rule, and no amount of its
    own."""
    if category is Category.TRIPS:
        return None if amount_cents is None else BudgetRule(RuleKind.TOTAL, amount_cents)
    if amount_cents is not None:
        raise InvalidRequest(
            "Only trips are approved with an amount; this category has its usual rule.",
            code="amount_not_for_category",
        )
    return default_rule(category)


def usable_period(entitlement: Entitlement, birth_date: date | None) -> Period | None:
    """The days the entitlement can be used (participation stops before the 18th birthday)."""
    return budget.effective_period(
        entitlement.valid_from,
        entitlement.valid_until,
        category=entitlement.category,
        birth_date=birth_date,
    )


def availability(entitlement: Entitlement, birth_date: date | None, on: date) -> budget.Available:
    """What is left of the entitlement on day `on` (nothing outside its usable period)."""
    period = usable_period(entitlement, birth_date)
    if period is None or on > period.end:
        return budget.Available(cents=0, units=0 if entitlement.units_total else None)
    return budget.available(
        entitlement.budget_rule,
        period,
        on,
        spent_cents=entitlement.spent_cents,
        spent_units=entitlement.spent_units,
    )


MAX_PERIOD_MONTHS = 12
MAX_BACKDATING_MONTHS = 12


def school_year_end(day: date) -> date:
    """The last day of the school year `day` lies in (31 July, in every German state)."""
    return date(day.year if day.month <= 7 else day.year + 1, 7, 31)


def refuse_implausible_period(
    category: Category, valid_from: date, valid_until: date, today: date
) -> None:
    """InvalidRequest for a period that is most likely a typo (the rules are silent; the
    office records longer or older cases in two parts)."""
    if valid_until >= budget.add_months(valid_from, MAX_PERIOD_MONTHS):
        raise InvalidRequest("An approval lasts at most 12 months.", code="period_too_long")
    if valid_from < budget.add_months(today, -MAX_BACKDATING_MONTHS):
        raise InvalidRequest(
            "An approval starts at most 12 months back.", code="period_starts_too_early"
        )
    if category is Category.TUTORING and valid_until > school_year_end(valid_from):
        raise InvalidRequest(
            "Tutoring is approved until the end of the school year (31 July) at most.",
            code="tutoring_beyond_school_year",
        )


def refuse_overlap(valid_from: date, valid_until: date, taken: Iterable[tuple[date, date]]) -> None:
    """Conflict `overlapping_entitlement` when the period shares a day with one of `taken`
    (the child's live benefits in the category)."""
    for start, end in taken:
        if start <= valid_until and end >= valid_from:
            raise Conflict(
                f"The child already has this benefit from {start:%d.%m.%Y} to "
                f"{end:%d.%m.%Y}; a follow-up starts the day after it ends.",
                code="overlapping_entitlement",
                valid_from=start,
                valid_until=end,
            )


@dataclass(frozen=True)
class NewBenefit:
    """What a new benefit that passes the rules gets: its rule, the days it can be used,
    and the most its period can ever hold (None: no money limit)."""

    rule: BudgetRule
    period: Period
    cap_cents: int | None


def decide_new(
    *,
    category: Category,
    valid_from: date,
    valid_until: date,
    rule: BudgetRule | None,
    birth_date: date | None,
    today: date,
    taken: Iterable[tuple[date, date]],
) -> NewBenefit:
    """The new benefit, or the first rule it breaks (InvalidRequest or Conflict)."""
    if valid_until < valid_from:
        raise InvalidRequest("The period ends before it starts.", code="invalid_period")
    if rule is None:
        raise InvalidRequest("Trips need the approved amount.", code="rule_required")
    refuse_implausible_period(category, valid_from, valid_until, today)
    period = budget.effective_period(
        valid_from, valid_until, category=category, birth_date=birth_date
    )
    if period is None:
        raise InvalidRequest("The child is 18 before the period starts.", code="child_too_old")
    refuse_overlap(valid_from, valid_until, taken)
    return NewBenefit(rule=rule, period=period, cap_cents=budget.cap_cents(rule, period))


def decide_update(
    *,
    category: Category,
    valid_from: date,
    valid_until: date,
    rule: BudgetRule,
    birth_date: date | None,
    spent_cents: int,
    last_booked: date | None,
    taken: Iterable[tuple[date, date]],
) -> int | None:
    """The new cap of a benefit whose decision changed its period or rule (an approvals
    import's `updated` line), or the rule it breaks: what is booked must still fit (money
    and days), and no other live benefit of the child in the category (`taken`, without
    this one) may share a day with the new period. 0: no usable day is left."""
    if valid_until < valid_from:
        raise InvalidRequest("The period ends before it starts.", code="invalid_period")
    period = budget.effective_period(
        valid_from, valid_until, category=category, birth_date=birth_date
    )
    cap = budget.cap_cents(rule, period) if period else 0
    if (cap is not None and spent_cents > cap) or (
        last_booked is not None and not valid_from <= last_booked <= valid_until
    ):
        raise Conflict(
            "More is booked, or booked outside the new period, than it allows.",
            code="below_booked",
        )
    refuse_overlap(valid_from, valid_until, taken)
    return cap


def decide_end(
    *,
    category: Category,
    valid_from: date,
    ends_on: date,
    rule: BudgetRule,
    birth_date: date | None,
    spent_cents: int,
    last_booked: date | None,
) -> int | None:
    """The new cap of a benefit that ends early on `ends_on` (an approvals import's `ended`
    line), or why it cannot: not before it starts or before its last booked day, and not
    below what is booked. 0: no usable day is left."""
    if ends_on < valid_from or (last_booked is not None and ends_on < last_booked):
        raise Conflict(
            f"It cannot end on {ends_on:%d.%m.%Y}: booked until {last_booked:%d.%m.%Y}."
            if last_booked
            else "It cannot end before it starts.",
            code="end_before_bookings",
        )
    period = budget.effective_period(valid_from, ends_on, category=category, birth_date=birth_date)
    cap = budget.cap_cents(rule, period) if period else 0
    if cap is not None and spent_cents > cap:
        raise Conflict("More is booked than the shorter period allows.", code="below_booked")
    return cap
