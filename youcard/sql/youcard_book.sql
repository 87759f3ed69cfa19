-- youcard_book: a booking's writes as one call (PostgreSQL), so that the partner API books in
-- one round trip. The source of the function: youcard.operations.bookings runs the same steps
-- as statements on SQLite (_write_statements), and tests/domain/test_booking_function.py runs
-- both on the same generated inputs and compares what they write.
--
-- The steps and their order:
--   1. the overspend guard (a conditional UPDATE of the entitlement's counters);
--   2. the per-day unit guard, if the rule has one;
--   3. the booking row (a twin request with the same key may have committed first);
--   4. the audit event.
-- A step that refuses undoes the steps before it and says which one refused, so the call
-- changes nothing unless it books; the caller explains a refusal to the partner.
--
-- Changing this file needs a migration that installs a frozen copy of the new text
-- (as migration 0009 did for this one); the drift test fails until the database's function
-- is this file's.
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
