"""Flask glue both apps share: settings, one database session per request, health check."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from youcard.config import Settings, load_settings
from youcard.db import Session, make_engine, make_sessionmaker

EXTENSION = "youcard"


def create_base_app(import_name: str, service: str, config: dict[str, Any] | None = None) -> Flask:
    """A Flask app wired to the YouCard database; `config` overrides settings (tests)."""
    settings: Settings = load_settings()
    app = Flask(import_name, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.config.from_prefixed_env("YOUCARD")
    if config:
        app.config.update(config)
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[EXTENSION] = make_sessionmaker(engine)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        db_session().execute(text("SELECT 1"))
        return jsonify(status="ok", service=service)

    return app


def db_session() -> Session:
    """The request's database session (one per request, closed at teardown)."""
    if "db_session" not in g:
        from flask import current_app

        g.db_session = current_app.extensions[EXTENSION]()
    session: Session = g.db_session
    return session
