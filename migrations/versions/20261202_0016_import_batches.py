"""Import batches and their lines: an approvals file recorded by one staff member waits
for a second one's confirmation (or rejection); the same file waits at most once.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column(
            "recorded_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "confirmed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('recorded', 'confirmed', 'rejected')",
            name=op.f("ck_import_batches_status_known"),
        ),
        sa.CheckConstraint(
            "confirmed_by_id IS NULL OR confirmed_by_id <> recorded_by_id",
            name=op.f("ck_import_batches_four_eyes"),
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_import_batches_issuer_id_issuers")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["staff_users.id"],
            name=op.f("fk_import_batches_recorded_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["staff_users.id"],
            name=op.f("fk_import_batches_confirmed_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    op.create_index(op.f("ix_import_batches_issuer_id"), "import_batches", ["issuer_id"])
    op.create_index(
        "uq_import_batches_waiting_file",
        "import_batches",
        ["issuer_id", "file_sha256"],
        unique=True,
        sqlite_where=sa.text("status = 'recorded'"),
        postgresql_where=sa.text("status = 'recorded'"),
    )
    op.create_table(
        "import_lines",
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("decision_ref", sa.String(length=60), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_import_lines_batch_id_import_batches"),
        ),
        sa.PrimaryKeyConstraint("batch_id", "number", name=op.f("pk_import_lines")),
    )


def downgrade() -> None:
    op.drop_table("import_lines")
    op.drop_index("uq_import_batches_waiting_file", table_name="import_batches")
    op.drop_index(op.f("ix_import_batches_issuer_id"), table_name="import_batches")
    op.drop_table("import_batches")
