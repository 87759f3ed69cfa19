"""Partners who apply themselves: the city's versioned terms, the applications waiting for
an administrator, each partner's offers (description and price per category), and the
partner's profile for the public directory (address, district, contact, opening hours,
accessibility, account holder; listed and contact shown only when the partner agrees).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 22:14:22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "partner_terms",
        sa.Column("id", ID, nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_partner_terms_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_terms")),
        sa.UniqueConstraint(
            "issuer_id", "version", name=op.f("uq_partner_terms_issuer_id_version")
        ),
    )
    op.create_table(
        "partner_applications",
        sa.Column("id", ID, nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_form", sa.String(length=60), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("contact_person", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("opening_hours", sa.String(length=500), nullable=True),
        sa.Column("accessibility", sa.String(length=300), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("account_holder", sa.String(length=200), nullable=False),
        sa.Column("offers", sa.Text(), nullable=False),
        sa.Column("terms_version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("refusal_reason", sa.String(length=500), nullable=True),
        sa.Column("partner_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_partner_applications_issuer_id_issuers")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_applications_partner_id_partners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_applications")),
    )
    with op.batch_alter_table("partner_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_partner_applications_waiting", ["issuer_id", "status"], unique=False
        )

    op.create_table(
        "partner_offers",
        sa.Column("partner_id", ID, nullable=False),
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
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("price", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_offers_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", "category", name=op.f("pk_partner_offers")),
    )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legal_form", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("street", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("postal_code", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("city", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("district", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("contact_person", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("opening_hours", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("accessibility", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("account_holder", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("listed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("contact_public", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("contact_public")
        batch_op.drop_column("listed")
        batch_op.drop_column("account_holder")
        batch_op.drop_column("accessibility")
        batch_op.drop_column("opening_hours")
        batch_op.drop_column("phone")
        batch_op.drop_column("contact_person")
        batch_op.drop_column("district")
        batch_op.drop_column("city")
        batch_op.drop_column("postal_code")
        batch_op.drop_column("street")
        batch_op.drop_column("legal_form")

    op.drop_table("partner_offers")
    with op.batch_alter_table("partner_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_applications_waiting")

    op.drop_table("partner_applications")
    op.drop_table("partner_terms")
