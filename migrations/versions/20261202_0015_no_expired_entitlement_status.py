"""An entitlement has no state "expired": nothing ever set it (one whose period ended stays
approved); the CHECK constraint of its status no longer allows it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 00:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("recorded", "approved", "rejected", "revoked")


def _allow(states: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{state}'" for state in states) + ")"


def upgrade() -> None:
    # Any row in the old state (none was ever written) would stop the new constraint.
    op.execute("UPDATE entitlements SET status = 'approved' WHERE status = 'expired'")
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_constraint("status", type_="check")
        batch_op.create_check_constraint("status", _allow(STATES))


def downgrade() -> None:
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_constraint("status", type_="check")
        batch_op.create_check_constraint("status", _allow((*STATES, "expired")))
