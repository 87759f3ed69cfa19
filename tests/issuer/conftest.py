"""An issuer app on the test database, at the tests' fixed time, with the tests' KEK."""

from __future__ import annotations

import pytest

import issuer
from tests.factories import KEK, NOW, Factory
from youcard.credentials import b64url
from youcard.domain.enums import Role


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("YOUCARD_KEK", b64url(KEK))
    return issuer.create_app(
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


@pytest.fixture
def staff(committed):
    """Make a staff member of a new issuer; returns (username, issuer id)."""

    def build(role: Role = Role.CASEWORKER) -> tuple[str, str]:
        with committed.begin() as session:
            make = Factory(session)
            issuer_row = make.issuer()
            user = make.staff(issuer_row, role)
            return user.username, issuer_row.id

    return build
