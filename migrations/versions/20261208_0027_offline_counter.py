"""The counter without signal: each issuer's offline limit per category (none: offline
booking off), the 24-hour allowances counters fetch while online, and every offline
booking as it arrived (booked, or not covered and why; late when it came a day after).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 00:54:22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "offline_limits",
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "participation",
                "lunch",
                "tutoring",
                "trips",
                name="category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("cents_per_card_day", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_offline_limits_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("issuer_id", "category", name=op.f("pk_offline_limits")),
    )
    op.create_table(
        "offline_allowances",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("device_token_id", ID, nullable=True),
        sa.Column("partner_user_id", ID, nullable=True),
        sa.Column("device_key", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("limits", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_token_id"],
            ["device_tokens.id"],
            name=op.f("fk_offline_allowances_device_token_id_device_tokens"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_offline_allowances_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["partner_user_id"],
            ["partner_users.id"],
            name=op.f("fk_offline_allowances_partner_user_id_partner_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_allowances")),
    )
    with op.batch_alter_table("offline_allowances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offline_allowances_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "offline_bookings",
        sa.Column("id", ID, nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("allowance_id", sa.String(length=32), nullable=False),
        sa.Column("card_id", ID, nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "participation",
                "lunch",
                "tutoring",
                "trips",
                name="category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("offline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("booking_id", ID, nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["allowance_id"],
            ["offline_allowances.id"],
            name=op.f("fk_offline_bookings_allowance_id_offline_allowances"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_offline_bookings_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_offline_bookings_card_id_cards")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_offline_bookings_issuer_id_issuers")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_offline_bookings_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_bookings")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_offline_bookings_booking_id")),
        sa.UniqueConstraint(
            "partner_id",
            "idempotency_key",
            name=op.f("uq_offline_bookings_partner_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("offline_bookings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offline_bookings_allowance_id"), ["allowance_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_offline_bookings_card_id"), ["card_id"], unique=False)
        batch_op.create_index(
            "ix_offline_bookings_issuer_service", ["issuer_id", "service_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("offline_bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_offline_bookings_issuer_service")
        batch_op.drop_index(batch_op.f("ix_offline_bookings_card_id"))
        batch_op.drop_index(batch_op.f("ix_offline_bookings_allowance_id"))

    op.drop_table("offline_bookings")
    with op.batch_alter_table("offline_allowances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offline_allowances_partner_id"))

    op.drop_table("offline_allowances")
    op.drop_table("offline_limits")
