"""Messages to partners and the access code in an approval message: a partner's contact
e-mail address, the partner an outbox row goes to, and when a household's current access
code reached the family (codes made before this revision were shown on a letter or a page:
delivered when made).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 21:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("access_code_delivered_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE households SET access_code_delivered_at = access_code_set_at")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_partner_id"), ["partner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_partner_id_partners"), "partners", ["partner_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_partner_id_partners"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_partner_id"))
        batch_op.drop_column("partner_id")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("contact_email")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_column("access_code_delivered_at")
