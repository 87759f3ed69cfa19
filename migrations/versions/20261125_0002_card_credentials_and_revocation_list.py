"""Card credentials and the revocation list.

Cards keep the YC1 credential they were issued with, its categories (bitmask)
and the key that signed it (a key cannot be withdrawn while an unexpired card
depends on it). Revoked and replaced cards' serials get a growing number in
card_revocations so that offline scanners fetch only what is new. Signing keys
get the status `withdrawn` (out of the trust list after the last card expired).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:42:06.093769
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KEY_STATUSES = ("active", "retired", "revoked")
NEW_KEY_STATUSES = ("active", "retired", "withdrawn", "revoked")


def _status_check(statuses: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def upgrade() -> None:
    op.create_table(
        "card_revocations",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("card_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("serial", sa.LargeBinary(length=16), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.CheckConstraint("length(serial) = 16", name=op.f("ck_card_revocations_serial_128_bits")),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_card_revocations_card_id_cards")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_card_revocations_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_card_revocations")),
        sa.UniqueConstraint("card_id", name=op.f("uq_card_revocations_card_id")),
    )
    with op.batch_alter_table("card_revocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_card_revocations_issuer_id"), ["issuer_id"], unique=False
        )

    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("categories", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "signing_key_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("credential", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_cards_signing_key_id"), ["signing_key_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cards_signing_key_id_signing_keys"),
            "signing_keys",
            ["signing_key_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            op.f("ck_cards_categories_bitmask"), "categories BETWEEN 0 AND 15"
        )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.alter_column("categories", server_default=None)

    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_signing_keys_status"), type_="check")
        batch_op.alter_column(
            "status", existing_type=sa.String(length=7), type_=sa.String(length=9)
        )
        batch_op.create_check_constraint(
            op.f("ck_signing_keys_status"), _status_check(NEW_KEY_STATUSES)
        )


def downgrade() -> None:
    op.execute("UPDATE signing_keys SET status = 'retired' WHERE status = 'withdrawn'")
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_signing_keys_status"), type_="check")
        batch_op.alter_column(
            "status", existing_type=sa.String(length=9), type_=sa.String(length=7)
        )
        batch_op.create_check_constraint(
            op.f("ck_signing_keys_status"), _status_check(OLD_KEY_STATUSES)
        )

    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cards_categories_bitmask"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_cards_signing_key_id_signing_keys"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_cards_signing_key_id"))
        batch_op.drop_column("credential")
        batch_op.drop_column("signing_key_id")
        batch_op.drop_column("categories")

    with op.batch_alter_table("card_revocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_revocations_issuer_id"))

    op.drop_table("card_revocations")
