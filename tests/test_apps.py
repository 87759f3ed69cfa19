"""Both app factories start on the configured database and answer their health check."""

from __future__ import annotations

import pytest

import issuer
import redeemer


@pytest.mark.parametrize("factory", [issuer.create_app, redeemer.create_app])
def test_alive_and_ready_on_a_migrated_database(factory, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    app = factory({"DATABASE_URL": database_url, "TESTING": True,
                   "REDIS_URL": "redis://127.0.0.1:6379/0"})  # fmt: skip
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]


@pytest.mark.parametrize("factory", [issuer.create_app, redeemer.create_app])
def test_not_ready_without_the_database_redis_or_the_newest_schema(
    factory, database_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    gone = factory({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                    "REDIS_URL": "redis://127.0.0.1:1/0"})  # fmt: skip
    assert gone.test_client().get("/healthz").status_code == 200  # alive all the same
    answer = gone.test_client().get("/readyz")
    assert answer.status_code == 503 and answer.json["status"] == "not ready"
    checks = answer.json["checks"]
    assert checks["database"].startswith("unreachable") and checks["redis"].startswith(
        "unreachable"
    )
    behind = tmp_path / "behind.sqlite3"
    from youcard import migrate

    migrate.upgrade(f"sqlite:///{behind}", "0018")
    old = factory({"DATABASE_URL": f"sqlite:///{behind}", "TESTING": True})
    answer = old.test_client().get("/readyz")
    assert answer.status_code == 503 and answer.json["checks"]["migrations"].startswith("at 0018")
