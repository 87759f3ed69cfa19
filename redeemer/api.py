"""The partner API (docs/partner-api.md, "Partner API"): thin views over the ledger operations."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request
from flask.views import MethodView
from marshmallow import RAISE

from redeemer.auth import authenticate
from redeemer.counter import credit_note_download, trusted
from redeemer.limits import count_api_request
from youcard.clock import DateOutOfRange, parse_month
from youcard.credentials import trust
from youcard.documents.credit_notes import CreditNote, credit_notes
from youcard.errors import InvalidRequest
from youcard.operations.booking import BookingRecord, BookingResult, book, cancel_booking
from youcard.operations.partners import ask_to_serve
from youcard.operations.verification import revocations_since
from youcard.policy import Counter
from youcard.reads.counter import check_card, list_bookings, statement
from youcard.schemas.partner_api import (
    BookingPageSchema,
    BookingQuerySchema,
    BookingRequestSchema,
    BookingResultSchema,
    CredentialSchema,
    CreditNoteListSchema,
    ProblemSchema,
    RevocationPageSchema,
    RevocationQuerySchema,
    ServiceRequestAnswerSchema,
    ServiceRequestSchema,
    StatementSchema,
    TrustListSchema,
    VerifyResponseSchema,
)
from youcard.web import db_session, now
from youcard.web.cursors import decode_cursor, encode_cursor
from youcard.web.hotpath import hot_path, is_hot_path, use_hot_session
from youcard.web.problems import MEDIA_TYPE as PROBLEM
from youcard.web.smorest import Blueprint

blp = Blueprint(
    "partner_api", __name__, url_prefix="/api/v1", description="Scan, verify and book YouCards"
)


@blp.before_request
def _authenticate() -> None:
    count_api_request()
    hot = is_hot_path()  # the hot path's tricks: youcard.web.hotpath
    if hot:
        use_hot_session()
    g.device = authenticate(rechecked=hot)


def device() -> Counter:
    """The signed-in device: its partner and the issuers whose cards it takes."""
    signed_in: Counter = g.device
    return signed_in


@blp.route("/verify")
class Verify(MethodView):
    """Check a scanned card."""

    @hot_path  # one read; its query re-checks the device
    @blp.arguments(CredentialSchema())
    @blp.response(200, VerifyResponseSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Verify a credential; for a valid one: the holder and what is left.

        A credential that fails is still 200 with `valid: false` and a reason.
        Only the categories this partner may book are listed.
        """
        session = db_session()
        return check_card(
            session, by=device(), credential=body["credential"], at=now(), trusted=trusted(session)
        )


def booking_json(record: BookingRecord, result: BookingResult | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.id,
        "category": record.category.value,
        "amount_cents": record.amount_cents,
        "units": record.units,
        "service_date": record.service_date,
        "reference": record.reference,
        "created_at": record.created_at,
        "status": "cancelled" if record.cancelled else "booked",
    }
    if result is not None:
        data["available_cents_after"] = result.available.cents
        data["available_units_after"] = result.available.units
    return data


def idempotency_key_header(description: str) -> dict[str, Any]:
    """The OpenAPI description of a booking's Idempotency-Key header."""
    return {
        "in": "header",
        "name": "Idempotency-Key",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": f"{description}: books once.",
    }


def idempotency_key() -> str:
    """The request's Idempotency-Key (required for every booking)."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise InvalidRequest(
            "The Idempotency-Key header is required.", code="idempotency_key_required"
        )
    return key


@blp.route("/bookings")
class Bookings(MethodView):
    """Book a service; list the partner's own bookings."""

    @hot_path  # one read and one atomic write (youcard_book); its query re-checks the device
    @blp.arguments(BookingRequestSchema())
    @blp.response(201, BookingResultSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(403, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[idempotency_key_header("One key per booking attempt, reused on retry")])
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Book an amount against the card's budget in a category, exactly once per key."""
        key = idempotency_key()
        counter, at = device(), now()
        session = db_session()
        result = book(
            session,
            by=counter,
            credential=body["credential"],
            trusted=trusted(session),
            category=body["category"],
            amount_cents=body["amount_cents"],
            units=body.get("units"),
            service_date=body.get("service_date"),
            reference=body.get("reference"),
            idempotency_key=key,
            now=at,
        )
        headers = {"Idempotent-Replayed": "true" if result.replayed else "false"}
        return booking_json(result.booking, result), 201, headers

    @blp.arguments(BookingQuerySchema(), location="query", unknown=RAISE)
    @blp.response(200, BookingPageSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The partner's own bookings, newest first, by creation date (Europe/Berlin)."""
        records, more = list_bookings(
            db_session(),
            by=device(),
            limit=query["limit"],
            from_=query.get("from_"),
            to=query.get("to"),
            before_id=decode_cursor(query["cursor"]) if "cursor" in query else None,
        )
        items = [booking_json(record) for record in records]
        return {"items": items, "next_cursor": encode_cursor(records[-1].id) if more else None}


@blp.route("/bookings/<int:booking_id>/cancel")
class CancelBooking(MethodView):
    """Cancel a booking."""

    @blp.response(200, BookingResultSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def post(self, booking_id: int) -> dict[str, Any]:
        """Cancel one of the partner's bookings; cancelling twice is harmless.

        Another partner's booking is 404, never 403.
        """
        counter = device()
        session = db_session()
        result = cancel_booking(session, by=counter, booking_id=booking_id, now=now())
        data = booking_json(result.booking)
        data["available_cents_after"] = result.available.cents
        data["available_units_after"] = result.available.units
        return data


@blp.route("/statements/<month>")
class Statement(MethodView):
    """A month of the partner's bookings."""

    @blp.response(200, StatementSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, month: str) -> dict[str, Any]:
        """Bookings and cancellations made in the month (Europe/Berlin), per category."""
        try:
            first = parse_month(month)
        except DateOutOfRange:
            raise InvalidRequest(
                "Months look like 2026-03, between the years 1900 and 2199.", code="invalid_month"
            ) from None
        return statement(db_session(), by=device(), first=first)


def credit_note_json(note: CreditNote) -> dict[str, Any]:
    """A credit note as the API shows it."""
    return {
        "id": note.payment_id,
        "issuer": note.issuer_id,
        "month": f"{note.month:%Y-%m}",
        "reference": note.reference,
        "number": note.number,
        "net_cents": note.net_cents,
        "carried_in_cents": note.carried_in_cents,
        "amount_cents": note.amount_cents,
        "carried_out_cents": note.carried_out_cents,
        "finalized_on": note.finalized,
    }


@blp.route("/credit-notes")
class CreditNotes(MethodView):
    """What the city pays the partner, month by month."""

    @blp.response(200, CreditNoteListSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    def get(self) -> dict[str, Any]:
        """The partner's credit notes from finalized settlement runs, newest first."""
        notes = credit_notes(db_session(), partner_id=device().partner_id)
        return {"items": [credit_note_json(note) for note in notes]}


@blp.route("/credit-notes/<int:payment_id>.pdf")
class CreditNotePdf(MethodView):
    """One credit note as PDF."""

    @blp.response(200, content_type="application/pdf")
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, payment_id: int) -> Response:
        """The credit note with its bookings (another partner's is 404)."""
        return credit_note_download(db_session(), device().partner_id, payment_id)


@blp.route("/service-requests")
class ServiceRequests(MethodView):
    """Serving another city's families too."""

    @blp.arguments(ServiceRequestSchema())
    @blp.response(201, ServiceRequestAnswerSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Ask another issuer to accept this partner for its cards. Its administrators can
        then find the partner and decide what it may book; until then (and unless it serves
        that issuer already) they cannot reach it. Asking again changes nothing."""
        row = ask_to_serve(db_session(), by=device(), issuer_id=body["issuer"], now=now())
        return {"issuer": row.issuer_id, "requested_at": row.requested_at}


@blp.route("/trust-list")
class TrustList(MethodView):
    """Keys for scanners that verify offline."""

    @blp.response(200, TrustListSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    def get(self) -> dict[str, Any]:
        """The public keys of the issuers whose cards this partner accepts."""
        issuers = set(device().issuers)
        document = trust.trust_list(db_session(), now=now())
        document["keys"] = [k for k in document["keys"] if k["iss"] in issuers]
        return document


@blp.route("/revocations")
class Revocations(MethodView):
    """Revoked serials for scanners that verify offline."""

    @blp.arguments(RevocationQuerySchema(), location="query", unknown=RAISE)
    @blp.response(200, RevocationPageSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Revoked serials numbered above `since` (of the issuers this partner accepts)."""
        rows = revocations_since(
            db_session(),
            since=query["since"],
            issuer_ids=device().issuers,
            limit=query["limit"],
        )
        return {
            "items": [
                {
                    "seq": r.seq,
                    "issuer": r.issuer_id,
                    "serial": r.serial.hex(),
                    "revoked_at": r.revoked_at,
                }
                for r in rows
            ],
            "last_seq": rows[-1].seq if rows else query["since"],
        }
