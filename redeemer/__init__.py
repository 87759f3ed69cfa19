"""The redeemer service: partner API and scanner page; holds public keys only."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from redeemer.limits import init_limits
from youcard.operations.list_bookings import LIST_MAX_BYTES
from youcard.web import create_base_app
from youcard.web.hotpath import skip_page_hooks_for_api
from youcard.web.html import PagesApi, init_error_pages, init_html
from youcard.web.inputs import allow_upload
from youcard.web.problems import init_problems
from youcard.web.signin import limit_sign_in


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The redeemer WSGI app (gunicorn: `redeemer:create_app()`): partner API and scanner page."""
    app = create_base_app(__name__, "redeemer", config)
    if os.environ.get("YOUCARD_KEK"):
        app.logger.warning("YOUCARD_KEK is set for the redeemer: it never needs it; remove it.")
    app.config.update(
        API_TITLE="YouCard partner API",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {"deviceToken": {"type": "http", "scheme": "bearer"}}
            },
            "security": [{"deviceToken": []}],
            "info": {
                "description": "Scan, verify and book YouCards (Bildung und Teilhabe). "
                "Errors are application/problem+json (RFC 9457) with a machine `code`."
            },
        },
    )
    csrf = init_html(app)
    api = PagesApi(app)
    from redeemer import api as partner_api
    from redeemer import (
        api_mandates,  # noqa: F401  (its routes join partner_api.blp)
        api_offline,  # noqa: F401  (its routes join partner_api.blp)
        profile,  # noqa: F401  (its routes join scanner.bp)
        scanner,
        scanner_offline,  # noqa: F401  (its routes join scanner.bp)
        staff_auth,
        statements,  # noqa: F401  (its routes join scanner.bp)
    )

    limiter = init_limits(app)
    for probe in ("healthz", "readyz"):  # they answer even when Redis does not
        limiter.exempt(app.view_functions[probe])
    api.register_blueprint(partner_api.blp)
    csrf.exempt(partner_api.blp)  # device-token JSON, no cookies: nothing to forge
    # A list of 5,000 lines is about 600 KB; every other request stays within 16 KB.
    allow_upload(app, "partner_api.BookingBatch", 1024 * 1024)
    allow_upload(app, "scanner.lists", LIST_MAX_BYTES + 64 * 1024)  # the form's other fields
    staff_auth.login_manager.init_app(app)
    app.register_blueprint(scanner.bp)
    # Guessing passwords from one address is slowed down; per account, the sign-in locks.
    limit_sign_in(app, limiter, "scanner.login", app.config.get("LOGIN_RATE_LIMIT", "20/minute"))
    # The API's requests skip the pages' hooks (Flask-Limiter, -Login, -WTF): youcard.web.hotpath
    skip_page_hooks_for_api(app, limiter, staff_auth.login_manager)
    init_problems(app)  # again: smorest registers its own handlers; ours must win
    init_error_pages(app)  # and HTML error pages outside /api/
    return app
