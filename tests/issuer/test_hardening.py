"""What outside testing found on the issuer (#14): each refused with a clear 4xx, nothing
changed, never a 500."""

from __future__ import annotations

import logging
import secrets
import threading

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, Factory
from youcard.enums import Role
from youcard.models import Household
from youcard.operations.setup import create_staff_token

HTTPS = "https://localhost"


@pytest.fixture
def token(committed):
    """A caseworker's API token of a new issuer: (token, issuer id)."""
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        user = make.staff(issuer, Role.CASEWORKER)
        made = create_staff_token(
            session, username=user.username, name="Fachverfahren", actor="test", now=NOW
        )
        return made.token, issuer.id


def _call(client, method, path, token, **kwargs):
    return client.open(
        path,
        method=method,
        base_url=HTTPS,
        headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})},
        **kwargs,
    )


def test_parallel_households_with_one_reference_give_one_201_and_409s(app, token, committed):
    """#14.15: the unique violation of a race is a 409, never a 500."""
    secret, issuer_id = token
    reference = f"BG-{secrets.token_hex(4)}"
    statuses: list[int] = []
    start = threading.Barrier(8)

    def create() -> None:
        client = app.test_client()
        start.wait()
        r = _call(
            client,
            "POST",
            "/api/v1/households",
            secret,
            json={"reference": reference, "family_name": "Nowak"},
        )
        statuses.append(r.status_code)
        if r.status_code == 409:
            assert r.json["code"] in ("reference_taken", "already_exists") and r.json["detail"]

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 7
    with committed() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Household)
            .where(Household.issuer_id == issuer_id, Household.reference == reference)
        )
    assert count == 1


def test_a_failed_statement_logs_no_parameters(committed, caplog):
    """#14.9: a database error's text never carries the statement's values (names)."""
    name = f"Geheimname-{secrets.token_hex(4)}"
    with committed() as session:
        issuer_id = Factory(session).issuer().id
        session.commit()
        session.add(
            Household(issuer_id=issuer_id, reference="X-1", family_name=name, created_at=NOW)
        )
        session.commit()
        session.add(
            Household(issuer_id=issuer_id, reference="X-1", family_name=name, created_at=NOW)
        )
        with pytest.raises(Exception) as raised:  # noqa: PT011 (any database error)
            session.commit()
        session.rollback()
    logging.getLogger("test").exception("failed", exc_info=raised.value)
    assert name not in str(raised.value) and name not in caplog.text
    assert "hidden" in str(raised.value)
