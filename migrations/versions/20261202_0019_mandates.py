"""Mandates: a partner's standing authorization for one child and one category (made by
showing the card), with its reference, an optional monthly instalment and the day the next
one is due; one active mandate per partner, child, category and reference.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mandates",
        sa.Column("id", ID, nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("child_id", ID, nullable=False),
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
        sa.Column("reference", sa.String(length=140), nullable=False),
        sa.Column("monthly_amount_cents", sa.Integer(), nullable=True),
        sa.Column("day_of_month", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("last_month", sa.String(length=7), nullable=True),
        sa.Column("last_result", sa.String(length=40), nullable=True),
        sa.Column("last_booking_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint("status IN ('active', 'ended')", name=op.f("ck_mandates_status_known")),
        sa.CheckConstraint(
            "day_of_month BETWEEN 1 AND 31", name=op.f("ck_mandates_day_of_month_in_range")
        ),
        sa.CheckConstraint(
            "monthly_amount_cents IS NULL OR monthly_amount_cents > 0",
            name=op.f("ck_mandates_amount_positive"),
        ),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_from <= valid_until",
            name=op.f("ck_mandates_period_ordered"),
        ),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_mandates_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_mandates_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_mandates_issuer_id_issuers")
        ),
        sa.ForeignKeyConstraint(
            ["last_booking_id"], ["bookings.id"], name=op.f("fk_mandates_last_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_mandates_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mandates")),
    )
    op.create_index(op.f("ix_mandates_child_id"), "mandates", ["child_id"])
    op.create_index("ix_mandates_due", "mandates", ["next_due"])
    op.create_index(op.f("ix_mandates_issuer_id"), "mandates", ["issuer_id"])
    op.create_index(op.f("ix_mandates_partner_id"), "mandates", ["partner_id"])
    op.create_index(
        "uq_mandates_active",
        "mandates",
        ["partner_id", "child_id", "category", "reference"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_table("mandates")
