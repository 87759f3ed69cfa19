"""Administrators change one staff account at the same moment (reset, role, deactivate,
activate, unlock) through the staff API, with real parallel clients on PostgreSQL: every
answer is a decision (200 or a refusal), never a 5xx, and the account ends consistent."""

from __future__ import annotations

import threading

import pytest

import issuer
from tests.factories import KEK, NOW, Factory
from youcard.credentials import b64url
from youcard.domain.enums import Role
from youcard.domain.models import StaffToken, StaffUser
from youcard.operations.staff_tokens import create_staff_token
from youcard.policy import Staff

ADMINS = 6
ROUNDS = 15
HTTPS = "https://localhost"


def test_parallel_changes_of_one_account_never_answer_5xx(
    database_url, committed, tmp_path, monkeypatch
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: nothing runs in parallel there")
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("YOUCARD_KEK", b64url(KEK))
    with committed.begin() as session:
        make = Factory(session)
        office = make.issuer()
        target = make.staff(office, Role.CASEWORKER)
        tokens = []
        for _ in range(ADMINS):
            admin = make.staff(office, Role.ADMINISTRATOR)
            tokens.append(
                create_staff_token(
                    session, by=Staff.system(office.id, "test"), username=admin.username,
                    name="Parallel", now=NOW,
                ).token
            )  # fmt: skip
        target_id = target.id
    app = issuer.create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "CLOCK": lambda: NOW,
            "RATELIMIT_ENABLED": False,
        }
    )
    changes = [
        ("reset-password", None), ("role", {"role": "approver"}), ("deactivate", None),
        ("activate", None), ("unlock", None), ("role", {"role": "caseworker"}),
    ]  # fmt: skip
    statuses: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(ADMINS)

    def administrator(n: int) -> None:
        client = app.test_client()
        try:
            start.wait()
            for i in range(ROUNDS):
                change, body = changes[(n + i) % len(changes)]
                answer = client.post(
                    f"/api/v1/staff/{target_id}/{change}", json=body, base_url=HTTPS,
                    headers={"Authorization": f"Bearer {tokens[n]}"},
                )  # fmt: skip
                statuses.append(answer.status_code)
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=administrator, args=(n,)) for n in range(ADMINS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert len(statuses) == ADMINS * ROUNDS
    assert [s for s in statuses if s >= 500] == []
    assert statuses.count(200) > ADMINS  # they did change it
    with committed() as session:
        user = session.get(StaffUser, target_id)
        live = session.query(StaffToken).filter_by(staff_user_id=target_id, revoked_at=None).count()
        assert user is not None and user.role in (Role.APPROVER, Role.CASEWORKER)
        assert live == 0
