"""The partner API's offline counter (docs/offline.md): the allowance a counter fetches
while online and the bookings it made offline, sent when it is online again."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from youcard.credentials import MAX_CREDENTIAL_LENGTH
from youcard.schemas.fields import Day, Moment
from youcard.schemas.partner_api import CATEGORIES, StrictSchema

OUTCOMES = ["booked", "not_covered"]


class OfflineLimitSchema(Schema):
    issuer = fields.String(required=True)
    category = fields.String(required=True)
    cents_per_card_day = fields.Integer(
        required=True, metadata={"description": "at most this much on one card a day; 0: off"}
    )


class AllowanceSchema(Schema):
    """What this counter may book offline for the next 24 hours, and the server's time
    (a counter whose clock is more than 5 minutes off books nothing offline)."""

    id = fields.String(required=True)
    issued_at = fields.DateTime(required=True)
    valid_until = fields.DateTime(required=True)
    server_time = fields.DateTime(required=True)
    limits = fields.List(fields.Nested(OfflineLimitSchema), required=True)
    signature = fields.String(required=True, metadata={"description": "HMAC-SHA256, hex"})


class OfflineBookingRequestSchema(StrictSchema):
    """A booking made offline: the card shown then, what and how much, when, under which
    allowance. Sent once online, with the Idempotency-Key it was made with."""

    credential = fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_CREDENTIAL_LENGTH)
    )
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    amount_cents = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=10_000_000)
    )
    units = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=1000))
    reference = fields.String(allow_none=True, validate=validate.Length(max=140))
    offline_at = Moment(required=True, metadata={"description": "the time of service"})
    allowance_id = fields.String(required=True, validate=validate.Length(min=1, max=32))


class OfflineBookingSchema(Schema):
    """An offline booking as it arrived: booked, or not covered and why."""

    id = fields.Integer(required=True)
    category = fields.String(required=True)
    amount_cents = fields.Integer(required=True)
    units = fields.Integer(allow_none=True)
    service_date = Day(required=True)
    offline_at = fields.DateTime(required=True)
    received_at = fields.DateTime(required=True)
    late = fields.Boolean(required=True, metadata={"description": "a day or more after"})
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    reason = fields.String(allow_none=True, metadata={"description": "why not covered"})
    booking_id = fields.Integer(allow_none=True)


class OfflineBookingQuerySchema(StrictSchema):
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=40))


class OfflineBookingPageSchema(Schema):
    """One page of offline bookings, newest first; `next_cursor` fetches the next."""

    items = fields.List(fields.Nested(OfflineBookingSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
