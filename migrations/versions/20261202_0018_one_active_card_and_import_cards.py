"""At most one active card per child (the database decides a race of two issuers); an import
batch keeps how many cards the job issued for it and when it was done.

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


def upgrade() -> None:
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


def downgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("cards_done_at")
        batch.drop_column("cards_issued")
    op.drop_index("uq_cards_one_active_per_child", table_name="cards")
