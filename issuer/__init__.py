"""The issuer service: staff UI and API, card issuing, public trust list."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from youcard import audit
from youcard.config import limits_storage
from youcard.db import Session
from youcard.web import AFTER_COMMIT, create_base_app
from youcard.web.html import PagesApi, init_error_pages, init_html
from youcard.web.inputs import allow_upload
from youcard.web.problems import init_problems
from youcard.web.signin import limit_sign_in


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The issuer WSGI app (gunicorn: `issuer:create_app()`)."""
    app = create_base_app(__name__, "issuer", config)
    csrf = init_html(app)
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=limits_storage(app.config.get("REDIS_URL")),
        key_prefix="youcard-issuer",
        enabled=app.config.get("RATELIMIT_ENABLED", True),
        headers_enabled=True,  # a 429 says when to try again (Retry-After)
    )

    app.extensions["youcard_limiter"] = limiter  # the decorator below holds it only weakly
    for probe in ("healthz", "readyz"):  # they answer even when Redis does not
        limiter.exempt(app.view_functions[probe])

    from issuer import (
        account,
        admin,
        api,
        api_admin,
        api_imports,
        api_staff,
        applications,
        apply,
        approvals,
        audit_log,
        auth,
        cards,
        children,
        directory,
        display,
        family,
        households,
        imports,
        letters,
        menu,
        messages,
        office,
        offline,
        pages,
        partner_details,
        reports,
        settlements,
        staff_admin,
    )

    auth.login_manager.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(menu.bp)
    app.register_blueprint(display.bp)
    app.register_blueprint(households.bp)
    app.register_blueprint(approvals.bp)
    app.register_blueprint(cards.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(settlements.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(offline.bp)
    app.register_blueprint(family.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(staff_admin.bp)
    app.register_blueprint(letters.bp)
    app.register_blueprint(children.bp)
    app.register_blueprint(audit_log.bp)
    app.register_blueprint(partner_details.bp)
    app.register_blueprint(office.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(messages.bp)
    app.register_blueprint(apply.bp)
    app.register_blueprint(applications.bp)
    app.register_blueprint(directory.bp)
    imports.init_imports(app)
    account.init_account(app)
    app.config.update(
        API_TITLE="YouCard issuer API",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"staffToken": {"type": "http", "scheme": "bearer"}}},
            "security": [{"staffToken": []}],
        },
    )
    pages_api = PagesApi(app)
    for api_blueprint in (api.blp, api_admin.blp, api_staff.blp, api_imports.blp):
        pages_api.register_blueprint(api_blueprint)
        csrf.exempt(api_blueprint)  # token-authenticated JSON, no cookies: nothing to forge
    init_problems(app)  # smorest registered its own handlers; ours (by path) must win
    # Guessing passwords from one address is slowed down here; per account, sign_in locks.
    limit_sign_in(app, limiter, "auth.login", app.config.get("LOGIN_RATE_LIMIT", "20/minute"))
    # Families too: per address here, per household the sign-in locks (operations.family).
    limit_sign_in(
        app, limiter, "family.login", app.config.get("FAMILY_LOGIN_RATE_LIMIT", "10/minute")
    )
    # The city's terms for partners: up to 20,000 characters, percent-encoded in the form
    allow_upload(app, "applications.terms", 128 * 1024)
    # Applications from one address: a few an hour (a robot's flood is stopped here).
    limit_sign_in(app, limiter, "apply.apply", app.config.get("APPLICATION_RATE_LIMIT", "10/hour"))

    app.extensions.setdefault(AFTER_COMMIT, []).append(_seal_after_staff_changes)

    init_error_pages(app)
    return app


def _seal_after_staff_changes(session: Session) -> None:
    """Chain the audit events right after a staff member changed something.

    Bookings (redeemer) stay unsealed until the next staff change or `youcard audit seal`
    from a timer: they never wait for the chain's lock.
    """
    if request.method != "POST":
        return
    staff = g.get("api_staff") or (current_user if current_user.is_authenticated else None)
    if staff is None:
        return
    try:
        with session.begin():
            audit.seal(session, staff.issuer_id)
    except SQLAlchemyError:
        # The change itself is committed; a later seal (or the timer) chains its events.
        current_app.logger.warning("audit seal deferred", exc_info=True)
