"""Both app factories start on the configured database and answer their health check."""

from __future__ import annotations

import pytest
from flask_login import LoginManager

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
    assert answer.headers["Retry-After"] == "2"  # a balancer asks again soon (#27.4)
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


@pytest.mark.parametrize("factory", [issuer.create_app, redeemer.create_app])
def test_no_view_or_hook_is_a_coroutine(factory, database_url, tmp_path, monkeypatch):
    """The apps hand every view and hook to Flask as it is (youcard.web.hotpath.SyncFlask):
    an async one would return an unawaited coroutine, so none may exist."""
    import inspect

    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    app = factory({"DATABASE_URL": database_url, "TESTING": True})
    called = list(app.view_functions.values())
    for hooks in (app.before_request_funcs, app.after_request_funcs,
                  app.teardown_request_funcs, app.url_value_preprocessors):  # fmt: skip
        called += [hook for each in hooks.values() for hook in each]
    called += app.teardown_appcontext_funcs + list(app.template_context_processors[None])
    called += [h for handlers in app.error_handler_spec.values()
               for codes in handlers.values() for h in codes.values()]  # fmt: skip
    for func in called:
        view_class = getattr(func, "view_class", None)
        methods = [getattr(view_class, m) for m in dir(view_class) if m in (
            "get", "post", "put", "patch", "delete")] if view_class else []  # fmt: skip
        for each in [func, *methods]:
            assert not inspect.iscoroutinefunction(inspect.unwrap(each)), each
    assert len(called) > 50  # it looked at the whole app


def test_the_partner_api_skips_the_pages_hooks(database_url, tmp_path, monkeypatch):
    """The API counts its limit itself (redeemer.limits), has no cookies and no forms:
    Flask-Limiter's, Flask-Login's and Flask-WTF's hooks run for the pages only, each list's
    in one `pages_only` hook — and a page still gets them (a form without its CSRF token is
    refused)."""
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    app = redeemer.create_app({"DATABASE_URL": database_url, "TESTING": True})
    limiter = app.extensions["youcard_limiter"]
    lists = [app.before_request_funcs[None], app.after_request_funcs[None],
             app.teardown_request_funcs[None]]  # fmt: skip
    groups = [hook for hooks in lists for hook in hooks if hasattr(hook, "pages")]
    assert len(groups) == 3  # one per list
    inside = [page for group in groups for page in group.pages]
    assert sum(getattr(page, "__self__", None) is limiter for page in inside) >= 2
    assert any(getattr(page, "__qualname__", "").startswith("CSRFProtect.") for page in inside)
    assert any(isinstance(getattr(page, "__self__", None), LoginManager) for page in inside)
    direct = [hook for hooks in lists for hook in hooks if not hasattr(hook, "pages")]
    assert not any(getattr(hook, "__self__", None) is limiter for hook in direct)
    assert not any(getattr(h, "__qualname__", "").startswith("CSRFProtect.") for h in direct)

    called: list[str] = []
    for group in groups:
        group.pages[:] = [_recording(page, called) for page in group.pages]
    client = app.test_client()
    assert client.get("/api/v1/bookings").status_code == 401  # the API: none of them ran
    assert called == []
    app.config["WTF_CSRF_ENABLED"] = True
    answer = client.post("/login", data={"username": "x", "password": "y"})
    assert answer.status_code == 400  # refused by the CSRF check, which a page still gets
    assert "CSRFProtect.init_app.<locals>.csrf_protect" in called
    assert len(called) >= 4  # a page: before, after and teardown hooks all ran


def _recording(hook, called):
    def recorded(*args):
        called.append(getattr(hook, "__qualname__", repr(hook)))
        return hook(*args)

    return recorded
