"""Initial schema: issuers, staff, households, children, entitlements, cards, keys,
partners, bookings, settlements and the audit log.

Reviewed by hand: every table carries its issuer_id (partners' rows through the
partner), money is integer cents, enums are stored by value with CHECK
constraints, and the overspend/idempotency guards are CHECK and UNIQUE constraints.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 02:23:48.904731
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issuers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(id) BETWEEN 2 AND 40", name=op.f("ck_issuers_id_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuers")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=80), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=True),
        sa.CheckConstraint(
            "(seq IS NULL) = (hash IS NULL)", name=op.f("ck_audit_events_sealed_shape")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_audit_events_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("issuer_id", "seq", name=op.f("uq_audit_events_issuer_id_seq")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_object", ["object_type", "object_id"], unique=False)

    op.create_table(
        "audit_heads",
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_audit_heads_seq_not_negative")),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_audit_heads_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("issuer_id", name=op.f("pk_audit_heads")),
    )
    op.create_table(
        "households",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("family_name", sa.String(length=200), nullable=False),
        sa.Column("access_code_hash", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_households_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint(
            "issuer_id", "reference", name=op.f("uq_households_issuer_id_reference")
        ),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_households_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "partners",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "active",
                "suspended",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_partners_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
    )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partners_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "settlements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "finalized", name="status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("total_cents >= 0", name=op.f("ck_settlements_total_not_negative")),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_settlements_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
        sa.UniqueConstraint("issuer_id", "month", name=op.f("uq_settlements_issuer_id_month")),
    )
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("kid", sa.LargeBinary(length=8), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "retired",
                "revoked",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(kid) = 8", name=op.f("ck_signing_keys_kid_8_bytes")),
        sa.CheckConstraint(
            "length(public_key) = 32", name=op.f("ck_signing_keys_public_key_32_bytes")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_signing_keys_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("issuer_id", "kid", name=op.f("uq_signing_keys_issuer_id_kid")),
    )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_keys_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "staff_users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "caseworker",
                "approver",
                "administrator",
                name="role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_staff_users_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
    )
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_users_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "children",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column(
            "household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("given_name", sa.String(length=200), nullable=False),
        sa.Column("family_name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_children_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_children_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_children")),
    )
    with op.batch_alter_table("children", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_children_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_children_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "device_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "length(token_hash) = 32", name=op.f("ck_device_tokens_token_hash_32_bytes")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_device_tokens_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_device_tokens_token_hash")),
    )
    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_tokens_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "partner_permissions",
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
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
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_partner_permissions_issuer_id_issuers")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_permissions_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint(
            "partner_id", "issuer_id", "category", name=op.f("pk_partner_permissions")
        ),
    )
    op.create_table(
        "partner_users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_users_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_users")),
        sa.UniqueConstraint("username", name=op.f("uq_partner_users_username")),
    )
    with op.batch_alter_table("partner_users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_users_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "cards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("child_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("serial", sa.LargeBinary(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "revoked",
                "replaced",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.String(length=500), nullable=True),
        sa.Column(
            "replaced_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint("length(serial) = 16", name=op.f("ck_cards_serial_128_bits")),
        sa.CheckConstraint("valid_from <= valid_until", name=op.f("ck_cards_validity_ordered")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_cards_version_positive")),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_cards_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_cards_issuer_id_issuers")
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"], ["cards.id"], name=op.f("fk_cards_replaced_by_id_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.UniqueConstraint("serial", name=op.f("uq_cards_serial")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cards_child_id"), ["child_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cards_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "entitlements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("child_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
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
        sa.Column(
            "status",
            sa.Enum(
                "recorded",
                "approved",
                "rejected",
                "revoked",
                "expired",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column(
            "rule",
            sa.Enum(
                "monthly", "total", "units", name="rule", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column(
            "accrual",
            sa.Enum("accrue", "upfront", name="accrual", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("units_total", sa.Integer(), nullable=True),
        sa.Column("units_per_day", sa.Integer(), nullable=True),
        sa.Column("cap_cents", sa.Integer(), nullable=True),
        sa.Column("spent_cents", sa.Integer(), nullable=False),
        sa.Column("spent_units", sa.Integer(), nullable=False),
        sa.Column(
            "recorded_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "decided_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column(
            "revoked_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "rule = 'units' OR (units_total IS NULL AND units_per_day IS NULL AND spent_units = 0)",
            name=op.f("ck_entitlements_units_only_for_unit_rules"),
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_entitlements_amount_positive")),
        sa.CheckConstraint(
            "cap_cents IS NULL OR spent_cents <= cap_cents",
            name=op.f("ck_entitlements_spent_within_cap"),
        ),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> recorded_by_id",
            name=op.f("ck_entitlements_four_eyes"),
        ),
        sa.CheckConstraint(
            "spent_cents >= 0", name=op.f("ck_entitlements_spent_cents_not_negative")
        ),
        sa.CheckConstraint(
            "spent_units >= 0", name=op.f("ck_entitlements_spent_units_not_negative")
        ),
        sa.CheckConstraint(
            "units_per_day IS NULL OR units_per_day > 0",
            name=op.f("ck_entitlements_units_per_day_positive"),
        ),
        sa.CheckConstraint(
            "units_total IS NULL OR spent_units <= units_total",
            name=op.f("ck_entitlements_units_within_total"),
        ),
        sa.CheckConstraint(
            "units_total IS NULL OR units_total > 0",
            name=op.f("ck_entitlements_units_total_positive"),
        ),
        sa.CheckConstraint(
            "valid_from <= valid_until", name=op.f("ck_entitlements_period_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["children.id"], name=op.f("fk_entitlements_child_id_children")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["staff_users.id"],
            name=op.f("fk_entitlements_decided_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_entitlements_issuer_id_issuers")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["staff_users.id"],
            name=op.f("fk_entitlements_recorded_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["staff_users.id"],
            name=op.f("fk_entitlements_revoked_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entitlements")),
    )
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_entitlements_child_category", ["child_id", "category"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_entitlements_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "bookings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "entitlement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("card_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "booking", "cancellation", name="kind", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column(
            "cancels_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
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
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=140), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column(
            "device_token_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "settlement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint(
            "(kind = 'booking' AND cancels_id IS NULL AND idempotency_key IS NOT NULL) OR (kind = 'cancellation' AND cancels_id IS NOT NULL)",
            name=op.f("ck_bookings_kind_shape"),
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_bookings_amount_positive")),
        sa.CheckConstraint("units >= 0", name=op.f("ck_bookings_units_not_negative")),
        sa.ForeignKeyConstraint(
            ["cancels_id"], ["bookings.id"], name=op.f("fk_bookings_cancels_id_bookings")
        ),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_bookings_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["device_token_id"],
            ["device_tokens.id"],
            name=op.f("fk_bookings_device_token_id_device_tokens"),
        ),
        sa.ForeignKeyConstraint(
            ["entitlement_id"],
            ["entitlements.id"],
            name=op.f("fk_bookings_entitlement_id_entitlements"),
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_bookings_issuer_id_issuers")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_bookings_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
            name=op.f("fk_bookings_settlement_id_settlements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("cancels_id", name=op.f("uq_bookings_cancels_id")),
        sa.UniqueConstraint(
            "partner_id", "idempotency_key", name=op.f("uq_bookings_partner_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index("ix_bookings_entitlement", ["entitlement_id"], unique=False)
        batch_op.create_index(
            "ix_bookings_issuer_created", ["issuer_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_bookings_partner_created", ["partner_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bookings_settlement_id"), ["settlement_id"], unique=False
        )

    op.create_table(
        "daily_usage",
        sa.Column(
            "entitlement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("issuer_id", sa.String(length=40), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.CheckConstraint("units >= 0", name=op.f("ck_daily_usage_units_not_negative")),
        sa.ForeignKeyConstraint(
            ["entitlement_id"],
            ["entitlements.id"],
            name=op.f("fk_daily_usage_entitlement_id_entitlements"),
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_daily_usage_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("entitlement_id", "service_date", name=op.f("pk_daily_usage")),
    )


def downgrade() -> None:
    op.drop_table("daily_usage")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bookings_settlement_id"))
        batch_op.drop_index("ix_bookings_partner_created")
        batch_op.drop_index("ix_bookings_issuer_created")
        batch_op.drop_index("ix_bookings_entitlement")

    op.drop_table("bookings")
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entitlements_issuer_id"))
        batch_op.drop_index("ix_entitlements_child_category")

    op.drop_table("entitlements")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cards_issuer_id"))
        batch_op.drop_index(batch_op.f("ix_cards_child_id"))

    op.drop_table("cards")
    with op.batch_alter_table("partner_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_users_partner_id"))

    op.drop_table("partner_users")
    op.drop_table("partner_permissions")
    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_tokens_partner_id"))

    op.drop_table("device_tokens")
    with op.batch_alter_table("children", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_children_issuer_id"))
        batch_op.drop_index(batch_op.f("ix_children_household_id"))

    op.drop_table("children")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_users_issuer_id"))

    op.drop_table("staff_users")
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_keys_issuer_id"))

    op.drop_table("signing_keys")
    op.drop_table("settlements")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partners_issuer_id"))

    op.drop_table("partners")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_issuer_id"))

    op.drop_table("households")
    op.drop_table("audit_heads")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_object")

    op.drop_table("audit_events")
    op.drop_table("issuers")
