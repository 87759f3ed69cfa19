"""The partner API (DESIGN.md, "Partner API"): thin views over the ledger operations."""

from __future__ import annotations

import base64
import binascii
import re
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from redeemer.auth import Device, authenticate
from youcard import budget, credentials, trust
from youcard.clock import BERLIN, berlin_date
from youcard.enums import BookingKind, Category, EntitlementStatus
from youcard.errors import CredentialInvalid, InvalidRequest, NotFound
from youcard.models import Booking, Card, Child, Entitlement
from youcard.operations.bookings import (
    MAX_ID,
    BookingRecord,
    BookingResult,
    book,
    cancel_booking,
)
from youcard.operations.entitlements import availability, usable_period
from youcard.operations.verification import card_is_revoked, revocations_since
from youcard.schemas.partner_api import (
    BookingPageSchema,
    BookingQuerySchema,
    BookingRequestSchema,
    BookingResultSchema,
    CredentialSchema,
    ProblemSchema,
    RevocationPageSchema,
    RevocationQuerySchema,
    StatementSchema,
    TrustListSchema,
    VerifyResponseSchema,
)
from youcard.web import db_session, now
from youcard.web.problems import MEDIA_TYPE as PROBLEM

blp = Blueprint(
    "partner_api", __name__, url_prefix="/api/v1", description="Scan, verify and book YouCards"
)

TRUST_CACHE_SECONDS = 10
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@blp.before_request
def _authenticate() -> None:
    g.device = authenticate()


def _device() -> Device:
    device: Device = g.device
    return device


def _trusted() -> credentials.TrustedKeys:
    """The trust list, cached a few seconds per process (card revocation is checked live)."""
    cache = current_app.extensions.setdefault("youcard_trust_cache", {})
    if cache.get("until", 0) < time.monotonic():
        cache["keys"] = trust.trusted_keys(db_session())
        cache["until"] = time.monotonic() + TRUST_CACHE_SECONDS
    keys: credentials.TrustedKeys = cache["keys"]
    return keys


def _claims(credential: str, at: datetime) -> credentials.Claims:
    """The credential's claims if its signature holds (revocation is the ledger's to check)."""
    result = credentials.verify(credential, trusted=_trusted(), now=int(at.timestamp()))
    if result.valid or result.reason == "expired":
        assert result.claims is not None
        return result.claims
    raise CredentialInvalid("The card cannot be used.", reason=result.reason or "malformed")


def _entitlement_views(
    device: Device, card: Card, birth_date: date, today: date
) -> list[dict[str, Any]]:
    allowed = device.categories_for(card.issuer_id)
    views = []
    for e in db_session().scalars(
        select(Entitlement)
        .where(
            Entitlement.child_id == card.child_id,
            Entitlement.status == EntitlementStatus.APPROVED,
            Entitlement.category.in_(allowed),
        )
        .order_by(Entitlement.category, Entitlement.valid_from)
    ):
        period = usable_period(e, birth_date)
        if period is None or today not in period:
            continue
        left = availability(e, birth_date, today)
        views.append(
            {
                "id": e.id,
                "category": e.category.value,
                "available_cents": left.cents,
                "available_units": left.units,
                "units_per_day": e.units_per_day,
                "max_cents_per_unit": e.amount_cents if e.rule.value == "units" else None,
                "valid_until": period.end,
            }
        )
    return views


@blp.route("/verify")
class Verify(MethodView):
    """Check a scanned card."""

    @blp.arguments(CredentialSchema)
    @blp.response(200, VerifyResponseSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Verify a credential; for a valid one: the holder and what is left.

        A credential that fails is still 200 with `valid: false` and a reason.
        Only the categories this partner may book are listed.
        """
        device, at = _device(), now()
        session = db_session()
        result = credentials.verify(body["credential"], trusted=_trusted(), now=int(at.timestamp()))
        if not result.valid:
            return {"valid": False, "reason": result.reason}
        claims = result.claims
        assert claims is not None
        if card_is_revoked(session, claims.serial, claims.issuer):
            return {"valid": False, "reason": "revoked"}
        card, child = session.execute(
            select(Card, Child)
            .join(Child, Child.id == Card.child_id)
            .where(Card.serial == claims.serial)
        ).one()
        return {
            "valid": True,
            "card": {
                "serial": claims.serial.hex(),
                "issuer": claims.issuer,
                "version": claims.version,
                "expires_at": datetime.fromtimestamp(claims.expires_at, UTC),
            },
            "holder": {"given_name": child.given_name, "birth_year": child.birth_date.year},
            "entitlements": _entitlement_views(device, card, child.birth_date, berlin_date(at)),
        }


def _booking_json(record: BookingRecord, result: BookingResult | None = None) -> dict[str, Any]:
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


@blp.route("/bookings")
class Bookings(MethodView):
    """Book a service; list the partner's own bookings."""

    @blp.arguments(BookingRequestSchema)
    @blp.response(201, BookingResultSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(403, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(
        parameters=[
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                "description": "One key per booking attempt, reused on retry: books once.",
            }
        ]
    )
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Book an amount against the card's budget in a category, exactly once per key."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            raise InvalidRequest(
                "The Idempotency-Key header is required.", code="idempotency_key_required"
            )
        device, at = _device(), now()
        claims = _claims(body["credential"], at)
        session = db_session()
        result = book(
            session,
            partner_id=device.partner_id,
            card_serial=claims.serial,
            card_issuer_id=claims.issuer,
            category=body["category"],
            amount_cents=body["amount_cents"],
            units=body.get("units"),
            service_date=body.get("service_date"),
            reference=body.get("reference"),
            idempotency_key=key,
            device_token_id=device.device_id,
            now=at,
        )
        headers = {"Idempotent-Replayed": "true" if result.replayed else "false"}
        return _booking_json(result.booking, result), 201, headers

    @blp.arguments(BookingQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, BookingPageSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The partner's own bookings, newest first, by creation date (Europe/Berlin)."""
        device = _device()
        cancellation = aliased(Booking)
        stmt = (
            select(Booking, cancellation.id.is_not(None).label("cancelled"))
            .outerjoin(cancellation, cancellation.cancels_id == Booking.id)
            .where(Booking.partner_id == device.partner_id, Booking.kind == BookingKind.BOOKING)
            .order_by(Booking.id.desc())
            .limit(query["limit"] + 1)
        )
        if "from_" in query:
            stmt = stmt.where(Booking.created_at >= _start_of(query["from_"]))
        if "to" in query:
            stmt = stmt.where(Booking.created_at < _start_of(query["to"] + timedelta(days=1)))
        if "cursor" in query:
            stmt = stmt.where(Booking.id < _decode_cursor(query["cursor"]))
        rows = db_session().execute(stmt).all()
        page = rows[: query["limit"]]
        items = [
            _booking_json(
                BookingRecord(
                    id=b.id,
                    partner_id=b.partner_id,
                    entitlement_id=b.entitlement_id,
                    category=b.category,
                    amount_cents=b.amount_cents,
                    units=b.units,
                    service_date=b.service_date,
                    reference=b.reference,
                    created_at=b.created_at,
                    cancelled=bool(cancelled),
                )
            )
            for b, cancelled in page
        ]
        more = len(rows) > query["limit"]
        return {"items": items, "next_cursor": _encode_cursor(page[-1][0].id) if more else None}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, dtime(), tzinfo=BERLIN).astimezone(UTC)


def _encode_cursor(booking_id: int) -> str:
    return base64.urlsafe_b64encode(str(booking_id).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        value = 0
    if not 0 < value <= MAX_ID:
        raise InvalidRequest("The cursor is not valid.", code="invalid_cursor")
    return value


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
        device = _device()
        session = db_session()
        result = cancel_booking(
            session,
            partner_id=device.partner_id,
            booking_id=booking_id,
            device_token_id=device.device_id,
            now=now(),
        )
        data = _booking_json(result.booking)
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
        match = _MONTH.fullmatch(month)
        if match is None:
            raise NotFound("Months look like 2026-03.", code="invalid_month")
        year, number = int(match.group(1)), int(match.group(2))
        first = date(year, number, 1)
        device = _device()
        is_booking = Booking.kind == BookingKind.BOOKING
        session = db_session()
        rows = session.execute(
            select(
                Booking.category,
                func.sum(case((is_booking, 1), else_=0)),
                func.sum(case((is_booking, Booking.amount_cents), else_=0)),
                func.sum(case((is_booking, 0), else_=1)),
                func.sum(case((is_booking, 0), else_=Booking.amount_cents)),
            )
            .where(
                and_(
                    Booking.partner_id == device.partner_id,
                    Booking.created_at >= _start_of(first),
                    Booking.created_at < _start_of(budget.add_months(first, 1)),
                )
            )
            .group_by(Booking.category)
            .order_by(Booking.category)
        ).all()
        lines = [
            {
                "category": Category(category).value,
                "bookings": int(count),
                "booked_cents": int(booked),
                "cancellations": int(cancels),
                "cancelled_cents": int(cancelled),
                "net_cents": int(booked) - int(cancelled),
            }
            for category, count, booked, cancels, cancelled in rows
        ]
        return {
            "month": month,
            "partner": device.partner_name,
            "status": "provisional",
            "lines": lines,
            "total_cents": sum(line["net_cents"] for line in lines),
        }


@blp.route("/trust-list")
class TrustList(MethodView):
    """Keys for scanners that verify offline."""

    @blp.response(200, TrustListSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    def get(self) -> dict[str, Any]:
        """The public keys of the issuers whose cards this partner accepts."""
        issuers = set(_device().issuers)
        document = trust.trust_list(db_session(), now=now())
        document["keys"] = [k for k in document["keys"] if k["iss"] in issuers]
        return document


@blp.route("/revocations")
class Revocations(MethodView):
    """Revoked serials for scanners that verify offline."""

    @blp.arguments(RevocationQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, RevocationPageSchema)
    @blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Revoked serials numbered above `since` (of the issuers this partner accepts)."""
        rows = revocations_since(
            db_session(),
            since=query["since"],
            issuer_ids=_device().issuers,
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


def add_security_headers(response: Response) -> Response:
    """An API answers with JSON only: no sniffing, no framing, no caching of personal data."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
    )
    return response
