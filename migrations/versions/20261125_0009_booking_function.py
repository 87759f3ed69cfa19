"""PostgreSQL: a booking's writes as one function call, so that the partner API books in
one round trip (youcard.operations.booking.book runs the same steps as statements on SQLite).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 08:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of youcard/sql/youcard_book.sql as it was then (a later change of the file
# needs a migration of its own; tests/domain/test_booking_function.py notices drift).
# The steps and their order are those of bookings._write_statements:
#   1. the overspend guard (a conditional UPDATE of the entitlement's counters);
#   2. the per-day unit guard, if the rule has one;
#   3. the booking row (a twin request with the same key may have committed first);
#   4. the audit event.
# A step that refuses undoes the steps before it and says which one refused, so the
# call changes nothing unless it books; the caller explains a refusal to the partner.
BOOK = """
CREATE FUNCTION youcard_book(
    p_issuer_id varchar, p_partner_id bigint, p_entitlement_id bigint, p_card_id bigint,
    p_category varchar, p_amount_cents integer, p_units integer, p_service_date date,
    p_reference varchar, p_idempotency_key varchar, p_request_hash bytea,
    p_device_token_id bigint, p_created_at timestamptz,
    p_entitled_cents integer, p_units_total integer, p_units_per_day integer,
    p_actor varchar, p_audit_data text,
    OUT outcome text, OUT booking_id bigint, OUT new_spent_cents integer,
    OUT new_spent_units integer
) LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entitlements e
       SET spent_cents = e.spent_cents + p_amount_cents, spent_units = e.spent_units + p_units
     WHERE e.id = p_entitlement_id AND e.status = 'approved'
       AND (p_entitled_cents IS NULL OR e.spent_cents + p_amount_cents <= p_entitled_cents)
       AND (p_units_total IS NULL OR e.spent_units + p_units <= p_units_total)
    RETURNING e.spent_cents, e.spent_units INTO new_spent_cents, new_spent_units;
    IF NOT FOUND THEN
        outcome := 'refused';
        RETURN;
    END IF;
    IF p_units_per_day IS NOT NULL THEN
        INSERT INTO daily_usage AS d (entitlement_id, service_date, issuer_id, units)
        VALUES (p_entitlement_id, p_service_date, p_issuer_id, p_units)
        ON CONFLICT (entitlement_id, service_date) DO UPDATE SET units = d.units + excluded.units
        WHERE d.units + excluded.units <= p_units_per_day;
        IF NOT FOUND THEN
            UPDATE entitlements
               SET spent_cents = spent_cents - p_amount_cents, spent_units = spent_units - p_units
             WHERE id = p_entitlement_id;
            outcome := 'daily_limit';
            RETURN;
        END IF;
    END IF;
    INSERT INTO bookings (issuer_id, partner_id, entitlement_id, card_id, kind, category,
                          amount_cents, units, service_date, reference, idempotency_key,
                          request_hash, device_token_id, created_at)
    VALUES (p_issuer_id, p_partner_id, p_entitlement_id, p_card_id, 'booking', p_category,
            p_amount_cents, p_units, p_service_date, p_reference, p_idempotency_key,
            p_request_hash, p_device_token_id, p_created_at)
    ON CONFLICT (partner_id, idempotency_key) DO NOTHING
    RETURNING id INTO booking_id;
    IF booking_id IS NULL THEN
        UPDATE entitlements
           SET spent_cents = spent_cents - p_amount_cents, spent_units = spent_units - p_units
         WHERE id = p_entitlement_id;
        IF p_units_per_day IS NOT NULL THEN
            UPDATE daily_usage SET units = units - p_units
             WHERE entitlement_id = p_entitlement_id AND service_date = p_service_date;
        END IF;
        outcome := 'replay';
        RETURN;
    END IF;
    INSERT INTO audit_events (issuer_id, occurred_at, actor, action, object_type, object_id, data)
    VALUES (p_issuer_id, p_created_at, p_actor, 'booking.create', 'booking', booking_id::text,
            p_audit_data);
    outcome := 'booked';
END $$
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(BOOK)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION youcard_book(varchar, bigint, bigint, bigint, varchar, integer,"
            " integer, date, varchar, varchar, bytea, bigint, timestamptz, integer, integer,"
            " integer, varchar, text)"
        )
