"""The outbox of messages to families (youcard.messages), and a household's e-mail address
and phone number marked undeliverable after a permanent failure, and a family's choice to
stop reminders.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 19:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", ID, nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("household_id", ID, nullable=True),
        sa.Column("child_id", ID, nullable=True),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("event_key", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_outbox_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_outbox_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_outbox_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint(
            "event_key", "channel", "address", name=op.f("uq_outbox_event_key_channel_address")
        ),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_issuer_id"), ["issuer_id"], unique=False)

    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_undeliverable_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("phone_undeliverable_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reminders_off_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "message_channel", sa.String(length=10), nullable=False, server_default="both"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_column("message_channel")
        batch_op.drop_column("reminders_off_at")
        batch_op.drop_column("phone_undeliverable_at")
        batch_op.drop_column("email_undeliverable_at")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_issuer_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_household_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
