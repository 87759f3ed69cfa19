"""A partner's new IBAN waits for a second administrator's confirmation before a payment
file uses it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_iban", sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column("pending_iban_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("pending_iban_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("pending_iban_at")
        batch_op.drop_column("pending_iban_by")
        batch_op.drop_column("pending_iban")
