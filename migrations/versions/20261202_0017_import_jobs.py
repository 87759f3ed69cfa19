"""Import batches are checked by a job: the uploaded file waits in the batch (queued), the
job claims it (checking) and stores every line with its outcome; a refused file or line
leaves a refused batch with its report, a dry run a checked one. Lines keep the child's and
period's columns so that later lines of the same file are checked against earlier ones.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("queued", "checking", "refused", "checked", "recorded", "confirmed", "rejected")
WAITING = "status IN ('queued', 'checking', 'recorded') AND NOT dry_run"


def upgrade() -> None:
    op.drop_index("uq_import_batches_waiting_file", table_name="import_batches")
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_constraint(op.f("ck_import_batches_status_known"), type_="check")
        batch.add_column(
            sa.Column("dry_run", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("data", sa.LargeBinary(), nullable=True))
        batch.add_column(
            sa.Column("lines_total", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("lines_done", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("claim", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("problem_code", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("problem", sa.Text(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_import_batches_status_known"),
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
        )
    op.create_index(
        "uq_import_batches_waiting_file",
        "import_batches",
        ["issuer_id", "file_sha256"],
        unique=True,
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )
    with op.batch_alter_table("import_lines") as batch:
        batch.add_column(sa.Column("code", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("message", sa.Text(), nullable=True))
        batch.add_column(sa.Column("child_ref", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("child_key", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("category", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("valid_until", sa.Date(), nullable=True))
    op.create_index("ix_import_lines_batch_child", "import_lines", ["batch_id", "child_ref"])


def downgrade() -> None:
    op.drop_index("ix_import_lines_batch_child", table_name="import_lines")
    with op.batch_alter_table("import_lines") as batch:
        for column in ("valid_until", "valid_from", "category", "child_key", "child_ref",
                       "message", "code"):  # fmt: skip
            batch.drop_column(column)
    op.drop_index("uq_import_batches_waiting_file", table_name="import_batches")
    op.execute(
        "DELETE FROM import_lines WHERE batch_id IN (SELECT id FROM import_batches "
        "WHERE status NOT IN ('recorded', 'confirmed', 'rejected'))"
    )
    op.execute(
        "DELETE FROM import_batches WHERE status NOT IN ('recorded', 'confirmed', 'rejected')"
    )
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_constraint(op.f("ck_import_batches_status_known"), type_="check")
        for column in ("problem", "problem_code", "claimed_at", "claim", "lines_done",
                       "lines_total", "data", "dry_run"):  # fmt: skip
            batch.drop_column(column)
        batch.create_check_constraint(
            op.f("ck_import_batches_status_known"),
            "status IN ('recorded', 'confirmed', 'rejected')",
        )
    op.create_index(
        "uq_import_batches_waiting_file",
        "import_batches",
        ["issuer_id", "file_sha256"],
        unique=True,
        sqlite_where=sa.text("status = 'recorded'"),
        postgresql_where=sa.text("status = 'recorded'"),
    )
