"""The partner API's offline counter (docs/offline.md): routes of the same blueprint as
`redeemer.api`, thin views over `youcard.operations.offline` and the offline booking."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from marshmallow import RAISE

from redeemer.api import blp, booking_json, device, idempotency_key, idempotency_key_header
from redeemer.counter import trusted
from youcard.operations.booking import BookingResult, book_offline
from youcard.operations.offline import Allowance, device_key, issue_allowance
from youcard.policy import Counter
from youcard.reads.offline import partner_offline_bookings
from youcard.schemas.partner_api import BookingResultSchema, ProblemSchema
from youcard.schemas.partner_offline import (
    AllowanceSchema,
    OfflineBookingPageSchema,
    OfflineBookingQuerySchema,
    OfflineBookingRequestSchema,
)
from youcard.web import db_session, now
from youcard.web.cursors import decode_cursor, encode_cursor
from youcard.web.problems import MEDIA_TYPE as PROBLEM


def allowance_json(allowance: Allowance) -> dict[str, Any]:
    """An allowance as the API and the scanner page give it."""
    return {
        "id": allowance.id,
        "issued_at": allowance.issued_at,
        "valid_until": allowance.valid_until,
        "server_time": allowance.server_time,
        "limits": [
            {"issuer": issuer, "category": category, "cents_per_card_day": cents}
            for issuer, by_category in sorted(allowance.limits.items())
            for category, cents in sorted(by_category.items())
        ],
        "signature": allowance.signature,
    }


def book_sent(counter: Counter, fields: dict[str, Any], key: str) -> BookingResult:
    """A booking made offline, as the API and the scanner page receive it (its fields
    checked by OfflineBookingRequestSchema)."""
    session = db_session()
    return book_offline(
        session,
        by=counter,
        credential=fields["credential"],
        trusted=trusted(session),
        category=fields["category"],
        amount_cents=fields["amount_cents"],
        units=fields.get("units"),
        reference=fields.get("reference"),
        idempotency_key=key,
        offline_at=fields["offline_at"],
        allowance_id=fields["allowance_id"],
        now=now(),
    )


def secret() -> bytes:
    """The service's secret key: it signs the allowances."""
    return str(current_app.config["SECRET_KEY"]).encode()


@blp.route("/offline-policy")
class OfflinePolicy(MethodView):
    @blp.response(200, AllowanceSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    def get(self) -> dict[str, Any]:
        """This device's offline allowance for the next 24 hours, with the server's time:
        per issuer and category what it may book offline on one card in one day."""
        counter = device()
        allowance = issue_allowance(
            db_session(), by=counter, key=device_key(counter), secret=secret(), now=now()
        )
        return allowance_json(allowance)


@blp.route("/offline-bookings")
class OfflineBookings(MethodView):
    @blp.arguments(OfflineBookingRequestSchema())
    @blp.response(201, BookingResultSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(403, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[idempotency_key_header("The key the booking was made with offline")])
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Send a booking made offline: booked on its day of service if the budget and the
        allowance cover it (201), else recorded as not covered (409 `not_covered` with the
        `reason`). The same key again: the same answer, nothing booked twice."""
        result = book_sent(device(), body, idempotency_key())
        headers = {"Idempotent-Replayed": "true" if result.replayed else "false"}
        return booking_json(result.booking, result), 201, headers

    @blp.arguments(OfflineBookingQuerySchema(), location="query", unknown=RAISE)
    @blp.response(200, OfflineBookingPageSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Your offline bookings as they arrived, newest first: booked, or not covered and
        why (docs/offline.md says what to do about each reason)."""
        page = partner_offline_bookings(
            db_session(),
            by=device(),
            limit=query["limit"],
            before=decode_cursor(query["cursor"]) if "cursor" in query else None,
            outcome=query.get("outcome"),
        )
        items = [
            {
                "id": row.id,
                "category": row.category.value,
                "amount_cents": row.amount_cents,
                "units": row.units,
                "service_date": row.service_date,
                "offline_at": row.offline_at,
                "received_at": row.received_at,
                "late": row.late,
                "outcome": row.outcome,
                "reason": row.reason,
                "booking_id": row.booking_id,
            }
            for row in page.rows
        ]
        cursor = encode_cursor(page.next_before) if page.next_before else None
        return {"items": items, "next_cursor": cursor}
