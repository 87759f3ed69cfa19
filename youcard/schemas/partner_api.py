"""The partner API's wire formats (docs/partner-api.md). Unknown fields are refused."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from youcard.credentials import MAX_CREDENTIAL_LENGTH, REASONS
from youcard.domain.enums import Category
from youcard.schemas.fields import Day

CATEGORIES = [c.value for c in Category]


class StrictSchema(Schema):
    """Refuses fields it does not know."""

    class Meta:
        unknown = RAISE


class ProblemSchema(Schema):
    """RFC 9457 problem details with a machine `code`."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    code = fields.String(required=True)
    reason = fields.String(metadata={"description": "for credential_invalid: why"})
    errors = fields.Dict(
        metadata={"description": "for invalid_request: the fields and what is wrong"}
    )
    request_id = fields.String()


class CredentialSchema(StrictSchema):
    """A scanned QR text: any text; one that is no credential is answered `malformed`."""

    credential = fields.String(required=True, validate=validate.Length(max=4096))


class CardSchema(Schema):
    """The card as the credential names it."""

    serial = fields.String(metadata={"description": "128-bit serial, hex"})
    issuer = fields.String()
    version = fields.Integer()
    expires_at = fields.DateTime()


class HolderSchema(Schema):
    """Only what a partner needs to match the person at the counter."""

    given_name = fields.String()
    birth_year = fields.Integer()


class EntitlementViewSchema(Schema):
    """What is left in one category this partner may book."""

    id = fields.Integer()
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    available_cents = fields.Integer(allow_none=True)
    available_units = fields.Integer(allow_none=True)
    units_per_day = fields.Integer(allow_none=True)
    max_cents_per_unit = fields.Integer(allow_none=True)
    valid_until = Day()


class VerifyResponseSchema(Schema):
    """Valid with card, holder and entitlements; or not valid with a reason."""

    valid = fields.Boolean(required=True)
    reason = fields.String(validate=validate.OneOf(REASONS))
    card = fields.Nested(CardSchema)
    holder = fields.Nested(
        HolderSchema,
        allow_none=True,
        metadata={
            "description": "null when the card's issuer has not accepted this partner: it"
            " learns nothing of a child it may not book for"
        },
    )
    entitlements = fields.List(fields.Nested(EntitlementViewSchema))


class BookingRequestSchema(StrictSchema):
    """A booking: the card shown, what and how much."""

    credential = fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_CREDENTIAL_LENGTH)
    )
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    amount_cents = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=10_000_000)
    )
    units = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=1000))
    service_date = Day(allow_none=True)
    reference = fields.String(allow_none=True, validate=validate.Length(max=140))


class BookingSchema(Schema):
    """A booking as its partner sees it."""

    id = fields.Integer(required=True)
    category = fields.String(required=True)
    amount_cents = fields.Integer(required=True)
    units = fields.Integer(required=True)
    service_date = Day(required=True)
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["booked", "cancelled"]))


class BookingResultSchema(BookingSchema):
    """A booking just made (or found again by its idempotency key), with what is left."""

    available_cents_after = fields.Integer(allow_none=True)
    available_units_after = fields.Integer(allow_none=True)


class BookingQuerySchema(StrictSchema):
    """Filters of the booking list (dates of creation, Europe/Berlin, inclusive)."""

    from_ = Day(data_key="from")
    to = Day()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=40))


class BookingPageSchema(Schema):
    """One page of bookings, newest first; `next_cursor` fetches the next."""

    items = fields.List(fields.Nested(BookingSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class StatementLineSchema(Schema):
    """One category's month."""

    category = fields.String()
    bookings = fields.Integer()
    booked_cents = fields.Integer()
    cancellations = fields.Integer()
    cancelled_cents = fields.Integer()
    net_cents = fields.Integer()


class StatementSchema(Schema):
    """A partner's month: what was booked, what was cancelled, what is owed."""

    month = fields.String()
    partner = fields.String()
    status = fields.String(
        validate=validate.OneOf(["provisional", "final"]),
        metadata={"description": "provisional until every issuer has finalized the month"},
    )
    lines = fields.List(fields.Nested(StatementLineSchema))
    total_cents = fields.Integer()


class CreditNoteSchema(Schema):
    """What a finalized settlement run pays the partner (a Gutschrift)."""

    id = fields.Integer(required=True)
    issuer = fields.String(required=True)
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})
    reference = fields.String(required=True)
    number = fields.String(required=True)
    net_cents = fields.Integer(required=True)
    carried_in_cents = fields.Integer(required=True)
    amount_cents = fields.Integer(required=True, metadata={"description": "paid"})
    carried_out_cents = fields.Integer(required=True)
    finalized_on = Day(required=True)


class CreditNoteListSchema(Schema):
    """The partner's credit notes, newest first."""

    items = fields.List(fields.Nested(CreditNoteSchema), required=True)


class RevocationQuerySchema(StrictSchema):
    """Fetch revocations numbered above `since`."""

    since = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**63 - 1))
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=5000))


class RevocationSchema(Schema):
    """A revoked serial and its number."""

    seq = fields.Integer()
    issuer = fields.String()
    serial = fields.String()
    revoked_at = fields.DateTime()


class RevocationPageSchema(Schema):
    """Revoked serials; ask again with `since` = `last_seq` until `items` is empty."""

    items = fields.List(fields.Nested(RevocationSchema))
    last_seq = fields.Integer()


class TrustListSchema(Schema):
    """The public keys (JWK, RFC 8037) of the issuers this partner accepts."""

    format = fields.String()
    generated_at = fields.String()
    keys = fields.List(fields.Dict())


class MandateRequestSchema(StrictSchema):
    """A mandate: the card shown, the category, your own reference (member or pupil number),
    and for a monthly fee its amount and day (the 31st: a month's last day)."""

    credential = fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_CREDENTIAL_LENGTH)
    )
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    reference = fields.String(required=True, validate=validate.Length(min=1, max=140))
    monthly_amount_cents = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=100_000)
    )
    day_of_month = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=31)
    )
    valid_from = Day(allow_none=True)
    valid_until = Day(allow_none=True)


class LastInstalmentSchema(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})
    result = fields.String(
        required=True, metadata={"description": "booked, or why it was refused (a problem code)"}
    )
    booking_id = fields.Integer(allow_none=True)


class MandateHolderSchema(Schema):
    given_name = fields.String(required=True)


class MandateSchema(Schema):
    """A mandate as its partner sees it."""

    id = fields.Integer(required=True)
    category = fields.String(required=True)
    reference = fields.String(required=True)
    holder = fields.Nested(MandateHolderSchema, required=True)
    monthly_amount_cents = fields.Integer(allow_none=True)
    day_of_month = fields.Integer(required=True)
    valid_from = Day(required=True)
    valid_until = Day(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(["active", "ended"]))
    next_due = Day(allow_none=True, metadata={"description": "the next instalment's day"})
    last_instalment = fields.Nested(LastInstalmentSchema, allow_none=True)
    created_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)


class MandateQuerySchema(StrictSchema):
    status = fields.String(validate=validate.OneOf(["active", "ended"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=40))


class MandatePageSchema(Schema):
    """One page of mandates, newest first; `next_cursor` fetches the next."""

    items = fields.List(fields.Nested(MandateSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ListLineSchema(StrictSchema):
    """A line of a list booking, against your active mandate with this reference."""

    line_id = fields.String(
        required=True,
        validate=validate.Regexp(r"^[\x21-\x7e]{1,100}$", error="1 to 100 printable ASCII."),
        metadata={"description": "your id of the line: the same line again books nothing"},
    )
    reference = fields.String(required=True, validate=validate.Length(min=1, max=140))
    service_date = Day(required=True)
    units = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=1000))
    amount_cents = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=10_000_000)
    )


class ListBookingSchema(StrictSchema):
    lines = fields.List(
        fields.Nested(ListLineSchema), required=True, validate=validate.Length(min=1, max=5_000)
    )


class LineResultSchema(Schema):
    line_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["booked", "refused"]))
    replayed = fields.Boolean(required=True)
    booking_id = fields.Integer(allow_none=True)
    code = fields.String(allow_none=True, metadata={"description": "why it was refused"})
    detail = fields.String(allow_none=True)
    available_cents_after = fields.Integer(allow_none=True)


class ListResultSchema(Schema):
    """One result per line, in the order of the lines."""

    results = fields.List(fields.Nested(LineResultSchema), required=True)


class ServiceRequestSchema(StrictSchema):
    """Ask another issuer (a neighbouring town) to accept this partner for its cards."""

    issuer = fields.String(
        required=True,
        validate=validate.Length(min=2, max=40),
        metadata={"description": "the issuer's id, e.g. DE-NW-SOEST"},
    )


class ServiceRequestAnswerSchema(Schema):
    """The request as the issuer's administrators will see it."""

    issuer = fields.String()
    requested_at = fields.DateTime()
