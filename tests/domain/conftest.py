"""A ready scene for booking tests: issuer, child, approved entitlement, card, partner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories import Factory, trusted
from youcard.credentials import TrustedKeys
from youcard.db import Session
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category
from youcard.domain.models import (
    AuditEvent,
    Booking,
    Card,
    Child,
    DailyUsage,
    Entitlement,
    Issuer,
    Partner,
)


@dataclass
class Scene:
    issuer: Issuer
    child: Child
    entitlement: Entitlement
    card: Card
    partner: Partner
    trusted: TrustedKeys  # the issuer's key: what a booking's credential is verified against


@pytest.fixture
def scene(make: Factory) -> Callable[..., Scene]:
    """Build a scene; keyword arguments choose the category, rule and birth date."""

    def build(
        category: Category = Category.PARTICIPATION,
        *,
        rule: BudgetRule | None = None,
        birth_date: date = date(2014, 5, 17),
        **entitlement_kw: Any,
    ) -> Scene:
        issuer = make.issuer()
        child = make.child(issuer, birth_date=birth_date)
        entitlement = make.entitlement(child, category, rule=rule, **entitlement_kw)
        card = make.card(child)
        partner = make.partner(issuer, {category})
        return Scene(issuer, child, entitlement, card, partner, trusted(make.session, issuer.id))

    return build


def state(session: Session) -> tuple[Any, ...]:
    """Everything a refused operation must leave unchanged."""
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Booking)),
        session.scalar(select(func.count()).select_from(AuditEvent)),
        tuple(
            session.execute(
                select(Entitlement.id, Entitlement.spent_cents, Entitlement.spent_units).order_by(
                    Entitlement.id
                )
            ).all()
        ),
        tuple(
            session.execute(
                select(
                    DailyUsage.entitlement_id, DailyUsage.service_date, DailyUsage.units
                ).order_by(DailyUsage.entitlement_id, DailyUsage.service_date)
            ).all()
        ),
    )


@pytest.fixture
def refused(session: Session) -> Callable[..., Any]:
    """Run an operation as a caller would (rolled back on error): it must fail and write nothing.

    Returns the DomainError so that the test can assert on its code.
    """
    from youcard.errors import DomainError

    def run(operation: Callable[..., Any], **kwargs: Any) -> DomainError:
        before = state(session)
        with pytest.raises(DomainError) as caught, session.begin_nested():
            operation(session, **kwargs)
        assert state(session) == before, "a refused operation changed the database"
        return caught.value

    return run
