"""The issuer service: staff UI and API, card issuing, public trust list."""

from __future__ import annotations

from typing import Any

from flask import Flask

from youcard.web import create_base_app


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The issuer WSGI app (gunicorn: `issuer:create_app()`)."""
    return create_base_app(__name__, "issuer", config)
