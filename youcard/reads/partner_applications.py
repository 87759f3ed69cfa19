"""Partners' applications as administrators see them (a read model): those waiting, oldest
first, the last decided, how many days an application waits for its decision (median),
and for one application what looks like a duplicate (the same IBAN, e-mail address, or
name and postal code as a partner or another application of the city)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from sqlalchemy import or_, select

from youcard.db import Session
from youcard.domain.models import Partner, PartnerApplication
from youcard.domain.search import fold
from youcard.errors import NotFound
from youcard.policy import ADMINISTRATORS, Staff, require_role

DECIDED_SHOWN = 50
MEDIAN_OVER = 500  # the last decided applications the median is taken over


@dataclass(frozen=True)
class Applications:
    waiting: list[PartnerApplication]
    decided: list[PartnerApplication]
    median_days: float | None  # from application to decision; None before the first


def applications(session: Session, *, by: Staff) -> Applications:
    """The principal's issuer's applications (administrators)."""
    require_role(by, ADMINISTRATORS, "see partner applications")
    mine = select(PartnerApplication).where(PartnerApplication.issuer_id == by.issuer_id)
    waiting = session.scalars(
        mine.where(PartnerApplication.status == "waiting").order_by(PartnerApplication.id)
    ).all()
    decided = session.scalars(
        mine.where(PartnerApplication.status != "waiting")
        .order_by(PartnerApplication.decided_at.desc())
        .limit(MEDIAN_OVER)
    ).all()
    days = [
        (a.decided_at - a.submitted_at).total_seconds() / 86_400
        for a in decided
        if a.decided_at is not None
    ]
    median = statistics.median(days) if days else None
    return Applications(list(waiting), list(decided[:DECIDED_SHOWN]), median)


def application(session: Session, *, by: Staff, application_id: int) -> PartnerApplication:
    """One of the principal's issuer's applications (another city's is not found)."""
    require_role(by, ADMINISTRATORS, "see partner applications")
    found = session.get(PartnerApplication, application_id)
    if found is None or found.issuer_id != by.issuer_id:
        raise NotFound("No such application.", code="application_not_found")
    return found


@dataclass(frozen=True)
class Duplicate:
    what: str  # "partner" or "application"
    id: int
    name: str
    because: tuple[str, ...]  # "iban", "email", "name_and_postal_code"


def duplicates(session: Session, *, by: Staff, of: PartnerApplication) -> list[Duplicate]:
    """The city's partners and other applications that look like `of`."""
    require_role(by, ADMINISTRATORS, "see partner applications")
    name = fold(of.name)
    found: list[Duplicate] = []
    for what, model, email in (
        ("partner", Partner, Partner.contact_email),
        ("application", PartnerApplication, PartnerApplication.email),
    ):
        alike = session.execute(
            select(model.id, model.name, model.iban, email, model.postal_code).where(
                model.issuer_id == of.issuer_id,
                or_(model.iban == of.iban, email == of.email, model.postal_code == of.postal_code),
            )
        ).all()
        for row_id, row_name, iban, address, postal in alike:
            if (what, row_id) in (("partner", of.partner_id), ("application", of.id)):
                continue  # the partner it became, the application itself
            because = tuple(
                reason
                for reason, same in (
                    ("iban", iban == of.iban),
                    ("email", address == of.email),
                    ("name_and_postal_code", postal == of.postal_code and fold(row_name) == name),
                )
                if same
            )
            if because:
                found.append(Duplicate(what, row_id, row_name, because))
    return found
