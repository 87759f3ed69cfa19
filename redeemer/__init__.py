"""The redeemer service: partner API and scanner page; holds public keys only."""

from __future__ import annotations

from typing import Any

from flask import Flask

from youcard.web import create_base_app


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The redeemer WSGI app (gunicorn: `redeemer:create_app()`)."""
    return create_base_app(__name__, "redeemer", config)
