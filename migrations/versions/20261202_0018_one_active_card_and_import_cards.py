"""At most one active card per child (the database decides a race of two issuers); an import
batch keeps how many families it holds, how many cards the job issued for it and when it
was done; the staff pages' lookups at a city's scale get their indexes: cards and
entitlements by issuer and status, and on PostgreSQL the families' search by any part of a
name (pg_trgm trigram indexes, where the extension may be created; without it the search
still works, reading every row).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TRIGRAM_TABLES = ("households", "children")


def _trigram_indexes() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():  # a savepoint: without the right, the migration goes on
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        print("pg_trgm could not be created: the families' search reads every row.")
        return
    for table in TRIGRAM_TABLES:
        bind.exec_driver_sql(
            f"CREATE INDEX ix_trgm_{table}_search_key ON {table} "
            "USING gin (search_key gin_trgm_ops)"
        )


def upgrade() -> None:
    op.create_index("ix_cards_issuer_status", "cards", ["issuer_id", "status"])
    op.create_index("ix_entitlements_issuer_status", "entitlements", ["issuer_id", "status"])
    op.create_index("ix_entitlements_issuer_decided", "entitlements", ["issuer_id", "decided_at"])
    _trigram_indexes()
    twice = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT child_id FROM cards WHERE status = 'active' GROUP BY child_id "
            "HAVING count(*) > 1 ORDER BY child_id LIMIT 20"
        )
        .scalars()
        .all()
    )
    if twice:  # a race of the old code: a person decides which card stays, not a migration
        raise RuntimeError(
            "These children have more than one active card; block all but one (staff page "
            f"or `youcard` shell), then migrate again: {', '.join(map(str, twice))}"
        )
    op.create_index(
        "uq_cards_one_active_per_child",
        "cards",
        ["child_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(
            sa.Column("cards_issued", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("cards_done_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("families", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("families")
        batch.drop_column("cards_done_at")
        batch.drop_column("cards_issued")
    op.drop_index("uq_cards_one_active_per_child", table_name="cards")
    if op.get_bind().dialect.name == "postgresql":
        for table in TRIGRAM_TABLES:
            op.execute(f"DROP INDEX IF EXISTS ix_trgm_{table}_search_key")
    op.drop_index("ix_entitlements_issuer_decided", table_name="entitlements")
    op.drop_index("ix_entitlements_issuer_status", table_name="entitlements")
    op.drop_index("ix_cards_issuer_status", table_name="cards")
