"""The redeemer service: partner API and scanner page; holds public keys only."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from redeemer.limits import init_limits
from youcard.web import create_base_app
from youcard.web.problems import init_problems
from youcard.web.smorest import ProblemApi


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The redeemer WSGI app (gunicorn: `redeemer:create_app()`)."""
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
    api = ProblemApi(app)
    from redeemer import api as partner_api

    init_limits(app)
    api.register_blueprint(partner_api.blp)
    init_problems(app)  # again: smorest registers its own handlers; ours must win
    app.after_request(partner_api.add_security_headers)
    return app
