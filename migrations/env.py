"""Alembic environment: one history for the one database both apps use."""

from __future__ import annotations

from alembic import context

from youcard.config import load_settings
from youcard.db import Base, make_engine
from youcard.domain import models  # noqa: F401  (registers every table on the metadata)

config = context.config
TRIGRAM = "ix_trgm_"  # PostgreSQL's search indexes (pg_trgm): made by migrations, not models


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, other: object
) -> bool:
    """What `alembic check` compares: everything but the PostgreSQL-only trigram indexes."""
    return not (type_ == "index" and (name or "").startswith(TRIGRAM))


url = config.get_main_option("sqlalchemy.url") or load_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
