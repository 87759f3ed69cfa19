"""Both app factories start on the configured database and answer their health check."""

from __future__ import annotations

import pytest

import issuer
import redeemer


@pytest.mark.parametrize("factory", [issuer.create_app, redeemer.create_app])
def test_health_check_reaches_the_database(factory, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    app = factory({"DATABASE_URL": database_url, "TESTING": True})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]


def test_health_check_fails_without_a_database(tmp_path, monkeypatch):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    app = issuer.create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 500
