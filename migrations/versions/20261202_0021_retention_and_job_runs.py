"""Retention and job runs: a household's erasure is recorded on it (`erased_at`), a child's
birth date may be erased (nullable), and `job_runs` keeps what every scheduled job did
(for the metrics endpoint).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("households", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("children") as batch:
        batch.alter_column("birth_date", existing_type=sa.Date(), nullable=True)
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=40), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seconds", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    with op.batch_alter_table("children") as batch:
        batch.alter_column("birth_date", existing_type=sa.Date(), nullable=False)
    op.drop_column("households", "erased_at")
