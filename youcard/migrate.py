"""Run the Alembic migrations in `migrations/` against a database URL."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_PATH = Path(
    os.environ.get("YOUCARD_MIGRATIONS_PATH")
    or Path(__file__).resolve().parent.parent / "migrations"
)


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for `database_url`, independent of the working directory."""
    config = Config(str(MIGRATIONS_PATH / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_PATH))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to `revision` (default: the newest)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database back to `revision` (`base`: empty)."""
    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise when the models and the migrated database disagree (`alembic check`)."""
    command.check(alembic_config(database_url))
