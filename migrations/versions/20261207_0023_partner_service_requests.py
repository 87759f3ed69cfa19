"""Partners that ask another issuer to accept them: until a partner asks (or already
serves that issuer), another issuer's administrators cannot reach it by id.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "partner_service_requests",
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuers.id"],
            name=op.f("fk_partner_service_requests_issuer_id_issuers"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_service_requests_partner_id_partners"),
        ),
        sa.PrimaryKeyConstraint(
            "partner_id", "issuer_id", name=op.f("pk_partner_service_requests")
        ),
    )


def downgrade() -> None:
    op.drop_table("partner_service_requests")
