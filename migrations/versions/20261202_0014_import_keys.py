"""Keys of the case-management system's import: a child's person id (`child_ref`) and a
decision's id (`decision_ref`), each unique per issuer; the legal basis of a decision, for
the city's statistics only.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("children", schema=None) as batch_op:
        batch_op.add_column(sa.Column("child_ref", sa.String(length=60), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_children_issuer_id_child_ref"), ["issuer_id", "child_ref"]
        )
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_ref", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("legal_basis", sa.String(length=10), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_entitlements_issuer_id_decision_ref"), ["issuer_id", "decision_ref"]
        )
        batch_op.create_check_constraint(
            "legal_basis_known",
            "legal_basis IS NULL OR legal_basis IN ('SGB2', 'SGB12', 'BKGG', 'AsylbLG', 'WoGG')",
        )


def downgrade() -> None:
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_constraint("legal_basis_known", type_="check")
        batch_op.drop_constraint(
            batch_op.f("uq_entitlements_issuer_id_decision_ref"), type_="unique"
        )
        batch_op.drop_column("legal_basis")
        batch_op.drop_column("decision_ref")
    with op.batch_alter_table("children", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_children_issuer_id_child_ref"), type_="unique")
        batch_op.drop_column("child_ref")
