"""HTTP tests of the partner API against the test database (data committed per test world)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest

import redeemer
from tests.factories import KEK, NOW, Factory
from youcard.credentials import keys
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Category
from youcard.domain.models import Partner
from youcard.operations.cards import issue_card
from youcard.policy import Staff


@dataclass
class World:
    issuer_id: str
    partner_id: int
    token: str
    credential: str
    serial: bytes
    card_id: int
    child_id: int
    entitlement_ids: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def world(committed) -> Callable[..., World]:
    """Build an issuer with a key, a child with entitlements and a card, a partner with a token."""

    def build(
        categories: tuple[Category, ...] = (Category.PARTICIPATION, Category.LUNCH),
        partner_categories: set[Category] | None = None,
        rules: dict[Category, BudgetRule] | None = None,
        birth_date: date = date(2014, 5, 17),
        period: tuple[date, date] | None = None,
        now: datetime = NOW,
    ) -> World:
        with committed.begin() as session:
            make = Factory(session)
            issuer = make.issuer()
            make.signing_key(issuer)
            child = make.child(issuer, birth_date=birth_date)
            entitlements = {
                c.value: make.entitlement(
                    child, c, rule=(rules or {}).get(c), **({"period": period} if period else {})
                ).id
                for c in categories
            }
            card = issue_card(
                session, child_id=child.id, by=Staff.system(issuer.id, "test"), now=now, kek=KEK
            )
            partner = make.partner(
                issuer,
                partner_categories if partner_categories is not None else {Category.PARTICIPATION},
            )
            _, token = make.device(partner)
            return World(
                issuer_id=issuer.id,
                partner_id=partner.id,
                token=token,
                credential=card.credential,
                serial=card.serial,
                card_id=card.id,
                child_id=child.id,
                entitlement_ids=entitlements,
            )

    return build


@pytest.fixture
def other_partner(committed):
    """A second partner of the same issuer, with its own token."""

    def build(w: World, categories: set[Category] | None = None) -> dict[str, str]:
        with committed.begin() as session:
            make = Factory(session)
            from youcard.domain.models import Issuer

            partner = make.partner(
                session.get(Issuer, w.issuer_id), categories or {Category.PARTICIPATION}
            )
            _, token = make.device(partner)
        return {"Authorization": f"Bearer {token}"}

    return build


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    """The redeemer, on the test database, at the tests' fixed time, without a KEK."""
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("YOUCARD_KEK", raising=False)
    return redeemer.create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "CLOCK": lambda: NOW,
            "RATELIMIT_ENABLED": False,
        }
    )


@pytest.fixture
def client(app):
    return app.test_client()


def private_key_for(committed, issuer_id: str):
    """The issuer's signing key (tests forge and age credentials with it)."""
    with committed() as session:
        return keys.private_key_of(keys.active_key(session, issuer_id), KEK)


@pytest.fixture
def counter_user(committed):
    """A partner staff login for the world's partner: (username, partner_user id)."""

    def build(partner_id: int) -> tuple[str, int]:
        with committed.begin() as session:
            user = Factory(session).partner_user(session.get(Partner, partner_id))
            return user.username, user.id

    return build
