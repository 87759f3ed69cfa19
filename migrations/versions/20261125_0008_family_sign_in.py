"""Family sign-in: access code set time, failed attempts and lockout per household; the
access code's hash is unique (it finds the household).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 06:10:05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("access_code_set_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("family_failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("family_locked_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_households_access_code_hash"), ["access_code_hash"]
        )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.alter_column("family_failed_logins", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_households_access_code_hash"), type_="unique")
        batch_op.drop_column("family_locked_until")
        batch_op.drop_column("family_failed_logins")
        batch_op.drop_column("access_code_set_at")
