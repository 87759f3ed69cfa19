"""Approval letters: made one by one or as the day's batch, each with a new access code
where the household has none yet, or one that has not reached it (made for an approval
message not sent yet), or when asked; shown in the letter only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select

from youcard import audit
from youcard.clock import berlin_date, berlin_midnight
from youcard.db import Session
from youcard.documents.letters import LetterFacts, letter_facts
from youcard.domain.access_codes import code_hash, shown
from youcard.domain.enums import EntitlementStatus
from youcard.domain.models import Child, Entitlement, Household
from youcard.errors import Conflict, NotFound
from youcard.operations.family import new_access_code
from youcard.policy import RECORDERS, Staff, require_role

MAX_DAY = 5_000  # a day's approvals listed for letters (a large office's busiest day)


def make_approval_letters(
    session: Session,
    *,
    by: Staff,
    household_ids: Sequence[int],
    new_codes: bool,
    now: datetime,
    codes_just_made: Mapping[int, str] | None = None,
) -> list[tuple[LetterFacts, str | None]]:
    """The letters of these households, in this order: what each says, and the access code
    it carries (a new one when the household has none, or for every one with `new_codes`;
    the old code then stops working). `codes_just_made`: household id -> the code the
    access-code page has just shown, put in the letter as it is (Conflict when it is no
    longer the household's code). Audited per household."""
    require_role(by, RECORDERS, "make letters")
    today = berlin_date(now)
    made = []
    for household_id in household_ids:
        household = session.get(Household, household_id)
        if household is None or household.issuer_id != by.issuer_id:
            raise NotFound("No such household.", code="household_not_found")
        code = None
        just_made = (codes_just_made or {}).get(household.id)
        if just_made is not None:
            if household.access_code_hash != code_hash(just_made):
                raise Conflict(
                    "This code is no longer the family's: make a new one.", code="code_replaced"
                )
            code = shown(just_made)
        elif new_codes or household.access_code_delivered_at is None:  # none, or not sent yet
            code = new_access_code(session, by=by, household_id=household.id, now=now)
        facts = letter_facts(session, by=by, household_id=household.id, today=today)
        audit.record(
            session,
            issuer_id=by.issuer_id,
            actor=by.actor,
            action="household.letter",
            object_type="household",
            object_id=household.id,
            now=now,
            data={"with_code": code is not None, "language": household.language},
        )
        made.append((facts, code))
    return made


def _approved_on(by: Staff, day: date) -> Select[Household]:
    require_role(by, RECORDERS, "make letters")
    start = berlin_midnight(day)
    approved = (
        select(Child.household_id)
        .join(Entitlement, Entitlement.child_id == Child.id)
        .where(
            Entitlement.issuer_id == by.issuer_id,
            Entitlement.status == EntitlementStatus.APPROVED,
            Entitlement.decided_at >= start,
            Entitlement.decided_at < berlin_midnight(day + timedelta(days=1)),
        )
    )
    return select(Household).where(Household.issuer_id == by.issuer_id, Household.id.in_(approved))


def households_approved_on(
    session: Session,
    *,
    by: Staff,
    day: date,
    offset: int = 0,
    limit: int = MAX_DAY,
    after: str | None = None,
    through: str | None = None,
) -> list[Household]:
    """The principal's issuer's households with a benefit approved on `day` (Berlin time),
    by reference: the day's batch of letters (`offset`/`limit`: a part; references after
    `after` and up to `through`: a page)."""
    query = _approved_on(by, day)
    if after is not None:
        query = query.where(Household.reference > after)
    if through is not None:
        query = query.where(Household.reference <= through)
    query = query.order_by(Household.reference).offset(offset).limit(min(limit, MAX_DAY))
    return list(session.scalars(query))


def count_approved_on(session: Session, *, by: Staff, day: date) -> int:
    """How many households got a benefit approved on `day`."""
    query = _approved_on(by, day).with_only_columns(Household.id)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0
