"""Two approvers approve benefits of two children of one family at the same moment, on
PostgreSQL with real parallel clients: the family, which had no access code, gets exactly
one; the one message that carries a code carries that one, the other none."""

from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import select

from tests.factories import KEK, NOW, Factory, at_once
from youcard.domain.access_codes import code_hash
from youcard.domain.enums import EntitlementStatus, Role
from youcard.domain.models import Household, OutboxMessage
from youcard.messages.sealed import unseal
from youcard.operations.entitlements import approve_entitlement
from youcard.policy import Staff

ROUNDS = 8


def _approver(sessions, waiting, approvers):
    """Work for two threads: each approves its own benefit, as its own approver."""
    turns = itertools.count()

    def approve() -> int:
        n = next(turns)
        with sessions.begin() as session:
            return approve_entitlement(
                session, entitlement_id=waiting[n], by=approvers[n], now=NOW, kek=KEK
            ).id

    return approve


def test_two_approvals_at_once_give_a_family_one_code(private_committed, private_database_url):
    if not private_database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: nothing runs in parallel there")
    for _ in range(ROUNDS):
        with private_committed.begin() as session:
            make = Factory(session)
            issuer = make.issuer()
            household = make.household(issuer)
            household.email = "familie@example.org"
            waiting = [
                make.entitlement(
                    make.child(issuer, household=household), status=EntitlementStatus.RECORDED
                ).id
                for _ in range(2)
            ]
            approvers = [Staff.of(make.staff(issuer, Role.APPROVER)) for _ in range(2)]
            household_id = household.id
        assert sorted(at_once(2, _approver(private_committed, waiting, approvers))) == sorted(
            waiting
        )
        with private_committed() as session:
            stored = session.get(Household, household_id).access_code_hash
            rows = session.scalars(
                select(OutboxMessage).where(OutboxMessage.household_id == household_id)
            ).all()
        assert len(rows) == 2  # each approval told
        sealed = [
            (row.event_key, json.loads(row.facts)["sealed_code"])
            for row in rows
            if "sealed_code" in row.facts
        ]
        assert len(sealed) == 1  # one code made, for one of the messages
        ((key, secret),) = sealed
        assert code_hash(unseal(KEK, secret, event_key=key)) == stored
