"""Settlement runs: lines per partner and category, payments per partner, the city's account;
settled bookings and finalized runs locked by triggers on both databases.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 05:46:23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Money already settled never changes: a settled booking cannot be updated, no booking
# is deleted, and a finalized run (with its lines and payments) stays as it was.
_CHILDREN = ("settlement_lines", "settlement_payments")
LOCKS = {
    "sqlite": [
        "CREATE TRIGGER settled_bookings_are_locked BEFORE UPDATE ON bookings"
        " WHEN OLD.settlement_id IS NOT NULL"
        " BEGIN SELECT RAISE(ABORT, 'a settled booking cannot change'); END",
        "CREATE TRIGGER bookings_are_kept BEFORE DELETE ON bookings"
        " BEGIN SELECT RAISE(ABORT, 'bookings are never deleted'); END",
        "CREATE TRIGGER finalized_settlements_are_locked BEFORE UPDATE ON settlements"
        " WHEN OLD.status = 'finalized'"
        " BEGIN SELECT RAISE(ABORT, 'a finalized settlement cannot change'); END",
        "CREATE TRIGGER finalized_settlements_are_kept BEFORE DELETE ON settlements"
        " WHEN OLD.status = 'finalized'"
        " BEGIN SELECT RAISE(ABORT, 'a finalized settlement cannot change'); END",
        *(
            f"CREATE TRIGGER {table}_locked_{event.lower()} BEFORE {event} ON {table}"  # noqa: S608
            f" WHEN (SELECT status FROM settlements WHERE id = {row}.settlement_id) = 'finalized'"
            " BEGIN SELECT RAISE(ABORT, 'a finalized settlement cannot change'); END"
            for table in _CHILDREN
            for event, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD"))
        ),
    ],
    "postgresql": [
        """CREATE FUNCTION youcard_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
        """CREATE FUNCTION youcard_refuse_in_finalized() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE run_id bigint;
        BEGIN
          IF TG_OP = 'INSERT' THEN run_id := NEW.settlement_id; ELSE run_id := OLD.settlement_id; END IF;
          IF (SELECT status FROM settlements WHERE id = run_id) = 'finalized' THEN
            RAISE EXCEPTION 'a finalized settlement cannot change'
              USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$""",
        "CREATE TRIGGER settled_bookings_are_locked BEFORE UPDATE ON bookings FOR EACH ROW"
        " WHEN (OLD.settlement_id IS NOT NULL)"
        " EXECUTE FUNCTION youcard_refuse('a settled booking cannot change')",
        "CREATE TRIGGER bookings_are_kept BEFORE DELETE ON bookings FOR EACH ROW"
        " EXECUTE FUNCTION youcard_refuse('bookings are never deleted')",
        "CREATE TRIGGER finalized_settlements_are_locked BEFORE UPDATE OR DELETE ON settlements"
        " FOR EACH ROW WHEN (OLD.status = 'finalized')"
        " EXECUTE FUNCTION youcard_refuse('a finalized settlement cannot change')",
        *(
            f"CREATE TRIGGER {table}_locked BEFORE INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION youcard_refuse_in_finalized()"
            for table in _CHILDREN
        ),
    ],
}
UNLOCKS = {
    "sqlite": [
        "DROP TRIGGER settled_bookings_are_locked",
        "DROP TRIGGER bookings_are_kept",
        "DROP TRIGGER finalized_settlements_are_locked",
        "DROP TRIGGER finalized_settlements_are_kept",
        *(
            f"DROP TRIGGER {table}_locked_{event}"
            for table in _CHILDREN
            for event in ("insert", "update", "delete")
        ),
    ],
    "postgresql": [
        "DROP TRIGGER settled_bookings_are_locked ON bookings",
        "DROP TRIGGER bookings_are_kept ON bookings",
        "DROP TRIGGER finalized_settlements_are_locked ON settlements",
        *(f"DROP TRIGGER {table}_locked ON {table}" for table in _CHILDREN),
        "DROP FUNCTION youcard_refuse_in_finalized()",
        "DROP FUNCTION youcard_refuse()",
    ],
}


def upgrade() -> None:
    op.create_table(
        "settlement_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "settlement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
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
        sa.Column("bookings", sa.BigInteger(), nullable=False),
        sa.Column("booked_cents", sa.BigInteger(), nullable=False),
        sa.Column("cancellations", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_cents", sa.BigInteger(), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_settlement_lines_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
            name=op.f("fk_settlement_lines_settlement_id_settlements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_lines")),
        sa.UniqueConstraint(
            "settlement_id",
            "partner_id",
            "category",
            name=op.f("uq_settlement_lines_settlement_id_partner_id_category"),
        ),
    )
    with op.batch_alter_table("settlement_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_lines_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_settlement_lines_settlement_id"), ["settlement_id"], unique=False
        )

    op.create_table(
        "settlement_payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "settlement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("partner_name", sa.String(length=200), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("carried_in_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("carried_out_cents", sa.BigInteger(), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.CheckConstraint(
            "amount_cents + carried_out_cents = net_cents + carried_in_cents",
            name=op.f("ck_settlement_payments_balanced"),
        ),
        sa.CheckConstraint(
            "amount_cents >= 0", name=op.f("ck_settlement_payments_amount_not_negative")
        ),
        sa.CheckConstraint(
            "carried_in_cents <= 0", name=op.f("ck_settlement_payments_carried_in_not_positive")
        ),
        sa.CheckConstraint(
            "carried_out_cents <= 0", name=op.f("ck_settlement_payments_carried_out_not_positive")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_settlement_payments_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
            name=op.f("fk_settlement_payments_settlement_id_settlements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_payments")),
        sa.UniqueConstraint(
            "settlement_id",
            "partner_id",
            name=op.f("uq_settlement_payments_settlement_id_partner_id"),
        ),
    )
    with op.batch_alter_table("settlement_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_payments_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_settlement_payments_settlement_id"), ["settlement_id"], unique=False
        )

    with op.batch_alter_table("issuers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("iban", sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column("bic", sa.String(length=11), nullable=True))

    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("net_cents", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("bookings_count", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("reference", sa.String(length=35), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "computed_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default="1970-01-01 00:00:00+00:00",
            )
        )
        batch_op.add_column(sa.Column("finalized_by", sa.String(length=80), nullable=True))
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        for column in ("net_cents", "bookings_count", "reference", "computed_at"):
            batch_op.alter_column(column, server_default=None)
    for statement in LOCKS[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for statement in UNLOCKS[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.drop_column("finalized_by")
        batch_op.drop_column("computed_at")
        batch_op.drop_column("reference")
        batch_op.drop_column("bookings_count")
        batch_op.drop_column("net_cents")

    with op.batch_alter_table("issuers", schema=None) as batch_op:
        batch_op.drop_column("bic")
        batch_op.drop_column("iban")

    with op.batch_alter_table("settlement_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_payments_settlement_id"))
        batch_op.drop_index(batch_op.f("ix_settlement_payments_partner_id"))

    op.drop_table("settlement_payments")
    with op.batch_alter_table("settlement_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_lines_settlement_id"))
        batch_op.drop_index(batch_op.f("ix_settlement_lines_partner_id"))

    op.drop_table("settlement_lines")
