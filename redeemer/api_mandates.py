"""The partner API's mandates and list bookings (docs/partner-api.md): routes of the same
blueprint as `redeemer.api`, thin views over `youcard.operations.mandates` and
`youcard.operations.list_bookings`.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from redeemer.api import blp, device
from redeemer.counter import trusted
from youcard.domain.models import Mandate
from youcard.operations.list_bookings import ListLine, book_list
from youcard.operations.mandates import (
    MandateTerms,
    create_mandate,
    end_mandate,
    holder_name,
    partner_mandates,
)
from youcard.schemas.partner_api import (
    ListBookingSchema,
    ListResultSchema,
    MandatePageSchema,
    MandateQuerySchema,
    MandateRequestSchema,
    MandateSchema,
    ProblemSchema,
)
from youcard.web import db_session, now
from youcard.web.cursors import decode_cursor, encode_cursor
from youcard.web.problems import MEDIA_TYPE as PROBLEM


def _mandate_json(mandate: Mandate, given_name: str) -> dict[str, Any]:
    return {
        "id": mandate.id,
        "category": mandate.category.value,
        "reference": mandate.reference,
        "holder": {"given_name": given_name},
        "monthly_amount_cents": mandate.monthly_amount_cents,
        "day_of_month": mandate.day_of_month,
        "valid_from": mandate.valid_from,
        "valid_until": mandate.valid_until,
        "status": mandate.status,
        "next_due": mandate.next_due,
        "last_instalment": {
            "month": mandate.last_month,
            "result": mandate.last_result,
            "booking_id": mandate.last_booking_id,
        }
        if mandate.last_month
        else None,
        "created_at": mandate.created_at,
        "ended_at": mandate.ended_at,
    }


@blp.route("/mandates")
class Mandates(MethodView):
    """Standing authorizations: made by showing the card, then booked without it."""

    @blp.arguments(MandateRequestSchema())
    @blp.response(201, MandateSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(403, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Make a mandate for the child whose card is shown: for a monthly fee (booked on its
        day each month, once) or for list bookings. One per child, category and reference."""
        session = db_session()
        mandate = create_mandate(
            session,
            by=device(),
            credential=body.pop("credential"),
            trusted=trusted(session),
            terms=MandateTerms(**body),
            now=now(),
        )
        return _mandate_json(mandate, holder_name(db_session(), mandate))

    @blp.arguments(MandateQuerySchema(), location="query", unknown=RAISE)
    @blp.response(200, MandatePageSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Your mandates, newest first, with each one's last instalment."""
        page = partner_mandates(
            db_session(),
            by=device(),
            limit=query["limit"],
            before=decode_cursor(query["cursor"]) if "cursor" in query else None,
            status=query.get("status"),
        )
        return {
            "items": [
                _mandate_json(m, page.given_names.get(m.child_id, "")) for m in page.mandates
            ],
            "next_cursor": encode_cursor(page.next_before) if page.next_before else None,
        }


@blp.route("/mandates/<int:mandate_id>/end")
class EndMandate(MethodView):
    @blp.response(200, MandateSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def post(self, mandate_id: int) -> dict[str, Any]:
        """End one of your mandates from now on (ending it again changes nothing)."""
        mandate = end_mandate(db_session(), by=device(), mandate_id=mandate_id, now=now())
        return _mandate_json(mandate, holder_name(db_session(), mandate))


@blp.route("/bookings/batch")
class BookingBatch(MethodView):
    @blp.arguments(ListBookingSchema())
    @blp.response(200, ListResultSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(413, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Book a list (a canteen's lunches, a tutor's lessons): each line against your active
        mandate with its reference, as an ordinary booking with the key `line:<line_id>`. One
        result per line; a refused line affects no other; the same list again books nothing."""
        lines = [ListLine(**line) for line in body["lines"]]
        results = book_list(db_session(), by=device(), lines=lines, now=now())
        return {"results": [vars(result) for result in results]}
