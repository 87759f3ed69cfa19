"""The end of the money records' retention: `money_retention.forget_before` (set only by the
retention job, from YOUCARD_KEEP_MONEY_YEARS) is the one exception to "bookings are never
deleted" and "a finalized settlement never changes": a booking settled in a finalized
settlement of a month before that day, and such a settlement with its lines and payments,
may be deleted; a booking not settled and paid never. While the day is empty (NULL), as
after this migration, nothing may.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHILDREN = ("settlement_lines", "settlement_payments")
_FORGET = "(SELECT forget_before FROM money_retention WHERE id = 1)"
_MONTH = "(SELECT month FROM settlements WHERE id = OLD.settlement_id)"
_PAID_MONTH = (  # the month of the finalized settlement a booking is in (NULL: none)
    "(SELECT month FROM settlements WHERE id = OLD.settlement_id AND status = 'finalized')"
)
_FINALIZED = "(SELECT status FROM settlements WHERE id = OLD.settlement_id) = 'finalized'"

SQLITE_UP = [
    "DROP TRIGGER bookings_are_kept",
    "CREATE TRIGGER bookings_are_kept BEFORE DELETE ON bookings"
    f" WHEN NOT coalesce({_PAID_MONTH} < {_FORGET}, 0)"
    " BEGIN SELECT RAISE(ABORT, 'bookings are never deleted'); END",
    "DROP TRIGGER finalized_settlements_are_kept",
    "CREATE TRIGGER finalized_settlements_are_kept BEFORE DELETE ON settlements"
    f" WHEN OLD.status = 'finalized' AND NOT coalesce(OLD.month < {_FORGET}, 0)"
    " BEGIN SELECT RAISE(ABORT, 'a finalized settlement cannot change'); END",
    *(
        statement
        for table in _CHILDREN
        for statement in (
            f"DROP TRIGGER {table}_locked_delete",
            f"CREATE TRIGGER {table}_locked_delete BEFORE DELETE ON {table}"
            f" WHEN {_FINALIZED} AND NOT coalesce({_MONTH} < {_FORGET}, 0)"
            " BEGIN SELECT RAISE(ABORT, 'a finalized settlement cannot change'); END",
        )
    ),
]
SQLITE_DOWN = [
    "DROP TRIGGER bookings_are_kept",
    "CREATE TRIGGER bookings_are_kept BEFORE DELETE ON bookings"
    " BEGIN SELECT RAISE(ABORT, 'bookings are never deleted'); END",
    "DROP TRIGGER finalized_settlements_are_kept",
    "CREATE TRIGGER finalized_settlements_are_kept BEFORE DELETE ON settlements"
    " WHEN OLD.status = 'finalized'"
    " BEGIN SELECT RAISE(ABORT, 'a finalized settlement cannot change'); END",
    *(
        statement
        for table in _CHILDREN
        for statement in (
            f"DROP TRIGGER {table}_locked_delete",
            f"CREATE TRIGGER {table}_locked_delete BEFORE DELETE ON {table}"
            f" WHEN {_FINALIZED}"
            " BEGIN SELECT RAISE(ABORT, 'a finalized settlement cannot change'); END",
        )
    ),
]
POSTGRES_UP = [
    f"""CREATE FUNCTION youcard_keep_money() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE forget date := {_FORGET};
    BEGIN
      IF forget IS NOT NULL THEN
        IF TG_TABLE_NAME = 'bookings' THEN
          IF {_PAID_MONTH} < forget THEN RETURN OLD; END IF;
        ELSIF OLD.month < forget THEN  -- settlements
          RETURN OLD;
        END IF;
      END IF;
      RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    "DROP TRIGGER bookings_are_kept ON bookings",
    "CREATE TRIGGER bookings_are_kept BEFORE DELETE ON bookings FOR EACH ROW"
    " EXECUTE FUNCTION youcard_keep_money('bookings are never deleted')",
    "DROP TRIGGER finalized_settlements_are_locked ON settlements",
    "CREATE TRIGGER finalized_settlements_are_locked BEFORE UPDATE ON settlements"
    " FOR EACH ROW WHEN (OLD.status = 'finalized')"
    " EXECUTE FUNCTION youcard_refuse('a finalized settlement cannot change')",
    "CREATE TRIGGER finalized_settlements_are_kept BEFORE DELETE ON settlements"
    " FOR EACH ROW WHEN (OLD.status = 'finalized')"
    " EXECUTE FUNCTION youcard_keep_money('a finalized settlement cannot change')",
    f"""CREATE OR REPLACE FUNCTION youcard_refuse_in_finalized() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE run_id bigint; forget date;
    BEGIN
      IF TG_OP = 'INSERT' THEN run_id := NEW.settlement_id; ELSE run_id := OLD.settlement_id; END IF;
      IF (SELECT status FROM settlements WHERE id = run_id) = 'finalized' THEN
        forget := {_FORGET};
        IF TG_OP = 'DELETE' AND forget IS NOT NULL
           AND (SELECT month FROM settlements WHERE id = run_id) < forget THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'a finalized settlement cannot change'
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
      RETURN NEW;
    END $$""",  # noqa: S608 - constant text, no input
]
POSTGRES_DOWN = [
    "DROP TRIGGER bookings_are_kept ON bookings",
    "CREATE TRIGGER bookings_are_kept BEFORE DELETE ON bookings FOR EACH ROW"
    " EXECUTE FUNCTION youcard_refuse('bookings are never deleted')",
    "DROP TRIGGER finalized_settlements_are_kept ON settlements",
    "DROP TRIGGER finalized_settlements_are_locked ON settlements",
    "CREATE TRIGGER finalized_settlements_are_locked BEFORE UPDATE OR DELETE ON settlements"
    " FOR EACH ROW WHEN (OLD.status = 'finalized')"
    " EXECUTE FUNCTION youcard_refuse('a finalized settlement cannot change')",
    """CREATE OR REPLACE FUNCTION youcard_refuse_in_finalized() RETURNS trigger
    LANGUAGE plpgsql AS $$
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
    "DROP FUNCTION youcard_keep_money()",
]


def upgrade() -> None:
    op.create_table(
        "money_retention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("forget_before", sa.Date(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_money_retention_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_retention")),
    )
    op.execute("INSERT INTO money_retention (id, forget_before) VALUES (1, NULL)")
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
    op.drop_table("money_retention")
