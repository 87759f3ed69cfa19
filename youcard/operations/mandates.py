"""Mandates (docs/partner-api.md "Standing authorizations"): made only by showing the card, for one
child and one category, with the partner's own reference; ended by the partner, the family
or the city's staff; a monthly instalment booked by the jobs on its day, once per month
(the idempotency key `mandate:<id>:<YYYY-MM>`), with every guard of an ordinary booking
(the job: youcard.operations.instalments; the calendar, `next_due`, is here).

A lost card does not end a mandate (budgets belong to entitlements, not cards): the
instalments are booked on the card shown when it was made, whatever became of the card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from youcard import audit, credentials
from youcard.clock import berlin_date
from youcard.db import Session, refusing_duplicates
from youcard.domain import budget
from youcard.domain.entitlement_rules import default_rule
from youcard.domain.enums import Category, EntitlementStatus, RuleKind
from youcard.domain.models import Card, Child, Mandate, Partner
from youcard.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    Unauthorized,
)
from youcard.messages import events as messages
from youcard.operations.booking import (
    MAX_REFERENCE_LENGTH,
    is_int,
    read_context,
    shown_card,
    usable,
)
from youcard.policy import ALL_STAFF, Counter, Family, Staff, require_role
from youcard.tenancy import own_child, owned

MAX_MONTHLY_CENTS = 100_000  # 1,000 € a month: no club's fee, and no typo, is more
MAX_YEARS = 5  # a mandate's end at most this far after its start


def instalment_day(month: date, day_of_month: int) -> date:
    """The instalment's date in `month` (any day of it): the day, or the month's last day
    (the 31st is the 28th or 29th in February)."""
    first = month.replace(day=1)
    last = budget.add_months(first, 1).toordinal() - first.toordinal()
    return first.replace(day=min(day_of_month, last))


def next_due(after: date, day_of_month: int, until: date | None) -> date | None:
    """The first instalment date after `after` (None past `until`)."""
    due = instalment_day(after, day_of_month)
    if due <= after:
        due = instalment_day(budget.add_months(after.replace(day=1), 1), day_of_month)
    return None if until is not None and due > until else due


def _first_due(valid_from: date, day_of_month: int, until: date | None) -> date | None:
    due = instalment_day(valid_from, day_of_month)
    if due < valid_from:
        due = instalment_day(budget.add_months(valid_from.replace(day=1), 1), day_of_month)
    return None if until is not None and due > until else due


@dataclass(frozen=True)
class MandateTerms:
    """What a partner asks for (the API's body, checked here)."""

    category: object
    reference: object
    monthly_amount_cents: object = None
    day_of_month: object = None
    valid_from: object = None
    valid_until: object = None


def _checked(
    terms: MandateTerms, today: date
) -> tuple[Category, str, int | None, int, date, date | None]:
    try:
        category = Category(terms.category if isinstance(terms.category, str) else "")
    except ValueError:
        raise InvalidRequest("Unknown category.", code="invalid_category") from None
    reference = terms.reference.strip() if isinstance(terms.reference, str) else ""
    if not 0 < len(reference) <= MAX_REFERENCE_LENGTH or not reference.isprintable():
        raise InvalidRequest(
            "The reference (your member or pupil number) must be 1 to 140 printable characters.",
            code="invalid_reference",
        )
    amount = terms.monthly_amount_cents
    if amount is not None:
        if not is_int(amount) or not 0 < amount <= MAX_MONTHLY_CENTS:  # type: ignore[operator]
            raise InvalidRequest(
                "The monthly amount must be whole cents, above zero, at most 1,000 €.",
                code="invalid_amount",
            )
        rule = default_rule(category)
        if rule is not None and rule.kind is RuleKind.UNITS:
            raise InvalidRequest(
                "This category is booked in units (by list), not by a monthly amount.",
                code="instalment_not_for_units",
            )
    day = terms.day_of_month if terms.day_of_month is not None else 1
    if not is_int(day) or not 1 <= day <= 31:  # type: ignore[operator]
        raise InvalidRequest("The day of the month must be 1 to 31.", code="invalid_day")
    valid_from = terms.valid_from if terms.valid_from is not None else today
    valid_until = terms.valid_until
    for value in (valid_from, valid_until):
        if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
            raise InvalidRequest("Dates must be dates.", code="invalid_period")
    assert isinstance(valid_from, date)
    if valid_from < today.replace(day=1) or valid_from > budget.add_months(today, 12):
        raise InvalidRequest(
            "A mandate starts this month at the earliest and within a year.",
            code="invalid_period",
        )
    if valid_until is not None and (
        not isinstance(valid_until, date)
        or valid_until < valid_from
        or valid_until > budget.add_months(valid_from, 12 * MAX_YEARS)
    ):
        raise InvalidRequest(
            "The end lies before the start or more than five years after it.",
            code="invalid_period",
        )
    return category, reference, amount, day, valid_from, valid_until  # type: ignore[return-value]


def create_mandate(
    session: Session,
    *,
    by: Counter,
    credential: object,
    trusted: credentials.TrustedKeys,
    terms: MandateTerms,
    now: datetime,
) -> Mandate:
    """A mandate for the child whose card is shown (never without the card): the card in use
    and valid, the partner active and allowed the category at the card's issuer, an approved
    benefit of the category not ended before the mandate starts. One active mandate per
    partner, child, category and reference (a second: Conflict `mandate_exists`)."""
    today = berlin_date(now)
    category, reference, amount, day, valid_from, valid_until = _checked(terms, today)
    claims = shown_card(credential, trusted=trusted, now=now)
    # The same context and the same rules as a booking (youcard.operations.booking.usable).
    context = usable(
        read_context(
            session,
            partner_id=by.partner_id,
            card_serial=claims.serial,
            category=category,
            key="",
            device_token_id=by.device_id,
        ),
        card_issuer_id=claims.issuer,
        today=today,
    )
    if not context.device_live:
        raise Unauthorized("This device token is not valid.")
    if not any(
        c.status is EntitlementStatus.APPROVED
        and c.period is not None
        and c.period.end >= max(valid_from, today)
        for c in context.candidates
    ):
        raise NotFound(
            "The child has no approved benefit of this category for this time.",
            code="no_entitlement",
        )
    child_id = session.scalar(select(Card.child_id).where(Card.id == context.card_id))
    assert child_id is not None
    mandate = Mandate(
        issuer_id=context.issuer_id,
        partner_id=by.partner_id,
        child_id=child_id,
        card_id=context.card_id,
        category=category,
        reference=reference,
        monthly_amount_cents=amount,
        day_of_month=day,
        valid_from=valid_from,
        valid_until=valid_until,
        status="active",
        next_due=_first_due(valid_from, day, valid_until) if amount is not None else None,
        created_at=now,
        created_by=by.actor,
    )
    with refusing_duplicates(
        session,
        lambda: Conflict(
            "This child already has a mandate of yours for this category and reference.",
            code="mandate_exists",
        ),
    ):
        session.add(mandate)
    audit.record(
        session,
        issuer_id=context.issuer_id,
        actor=by.actor,
        action="mandate.create",
        object_type="mandate",
        object_id=mandate.id,
        now=now,
        data={
            "partner_id": by.partner_id,
            "category": category.value,
            "monthly_amount_cents": amount,
        },
    )
    messages.mandate_started(session, mandate, now)
    return mandate


def _visible(session: Session, mandate_id: int, by: Counter | Staff | Family) -> Mandate:
    """The mandate if `by` may see and end it: its partner, its issuer's staff, the child's
    family; NotFound for anyone else (never tell whose it is)."""
    mandate = session.scalars(
        select(Mandate).where(Mandate.id == mandate_id).with_for_update()
    ).one_or_none()
    if mandate is not None:
        if isinstance(by, Counter) and mandate.partner_id == by.partner_id:
            return mandate
        if isinstance(by, Staff) and mandate.issuer_id == by.issuer_id:
            require_role(by, ALL_STAFF, "end mandates")
            return mandate
        if isinstance(by, Family):
            household = session.scalar(
                select(Child.household_id).where(Child.id == mandate.child_id)
            )
            if household == by.household_id:
                return mandate
    raise NotFound("No such mandate.", code="mandate_not_found")


def end_mandate(
    session: Session, *, by: Counter | Staff | Family, mandate_id: int, now: datetime
) -> Mandate:
    """End a mandate from now on (its partner, the family, or the city's staff); no more
    instalments. Ending an ended mandate changes nothing."""
    mandate = _visible(session, mandate_id, by)
    if mandate.status == "ended":
        return mandate
    mandate.status, mandate.ended_at, mandate.ended_by = "ended", now, by.actor
    mandate.next_due = None
    audit.record(
        session,
        issuer_id=mandate.issuer_id,
        actor=by.actor,
        action="mandate.end",
        object_type="mandate",
        object_id=mandate.id,
        now=now,
    )
    session.flush()
    messages.mandate_ended(session, mandate, now)
    return mandate


@dataclass(frozen=True)
class MandatePage:
    mandates: list[Mandate]
    given_names: dict[int, str]  # child id -> given name (all a partner sees of the child)
    next_before: int | None


def partner_mandates(
    session: Session,
    *,
    by: Counter,
    limit: int,
    before: int | None = None,
    status: str | None = None,
) -> MandatePage:
    """The partner's own mandates, newest first."""
    query = select(Mandate).where(Mandate.partner_id == by.partner_id)
    if status is not None:
        query = query.where(Mandate.status == status)
    if before is not None:
        query = query.where(Mandate.id < before)
    rows = list(session.scalars(query.order_by(Mandate.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    names = {
        child_id: given_name
        for child_id, given_name in session.execute(
            select(Child.id, Child.given_name).where(Child.id.in_({m.child_id for m in rows}))
        )
    }
    return MandatePage(rows, names, rows[-1].id if more and rows else None)


def holder_name(session: Session, mandate: Mandate) -> str:
    """The given name of the mandate's child: all its partner sees of the child."""
    return session.scalar(select(Child.given_name).where(Child.id == mandate.child_id)) or ""


def child_mandates(session: Session, *, by: Staff | Family, child_id: int) -> list[Mandate]:
    """A child's mandates (active first, newest first), for the city's staff of its issuer
    and for its family."""
    if isinstance(by, Staff):
        child = owned(session, by, Child, child_id, "child")
        require_role(by, ALL_STAFF, "see mandates")
    else:
        child = own_child(session, by, child_id)
    return list(
        session.scalars(
            select(Mandate)
            .where(Mandate.child_id == child.id)
            .order_by(Mandate.status, Mandate.id.desc())
        )
    )


@dataclass(frozen=True)
class ToEnd:
    """An active mandate of the family's child, as the family is asked to end it."""

    mandate: Mandate
    partner: str  # its name
    child: Child


def family_mandate_to_end(session: Session, *, by: Family, mandate_id: int) -> ToEnd:
    """One of the family's active mandates; another family's, or an ended one: NotFound."""
    row = session.execute(
        select(Mandate, Partner.name, Child)
        .join(Partner, Partner.id == Mandate.partner_id)
        .join(Child, Child.id == Mandate.child_id)
        .where(Mandate.id == mandate_id, Child.household_id == by.household_id)
    ).one_or_none()
    if row is None or row[0].status != "active":
        raise NotFound("No such mandate.", code="mandate_not_found")
    return ToEnd(*row)


def partner_names(session: Session, mandates: Sequence[Mandate]) -> dict[int, str]:
    """The names of the mandates' partners, by partner id."""
    ids = {m.partner_id for m in mandates}
    if not ids:
        return {}
    rows = session.execute(select(Partner.id, Partner.name).where(Partner.id.in_(ids)))
    return {partner_id: name for partner_id, name in rows}
