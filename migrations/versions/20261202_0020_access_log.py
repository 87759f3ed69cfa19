"""The access log: every staff view of a family or a child (who, when, page or API), apart
from the audit chain and kept for its own retention period.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "access_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("staff_user_id", ID, nullable=False),
        sa.Column("object_type", sa.String(length=20), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_access_events_issuer_id_issuers")
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_access_events_staff_user_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_events")),
    )
    op.create_index(
        "ix_access_events_object", "access_events", ["issuer_id", "object_type", "object_id"]
    )
    op.create_index(op.f("ix_access_events_staff_user_id"), "access_events", ["staff_user_id"])
    op.create_index("ix_access_events_viewed_at", "access_events", ["viewed_at"])


def downgrade() -> None:
    op.drop_table("access_events")
