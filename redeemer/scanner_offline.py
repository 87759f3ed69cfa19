"""The scanner page without signal (docs/offline.md): routes of the scanner's blueprint for
its offline mode (redeemer/static/offline.js). While online the page fetches its lists —
the trust list, the revocations, its allowance and the server's time — and, once online
again, sends what it booked offline, each booking once. The service worker keeps the scan
page and its scripts for a reload without signal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import jsonify, request, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from marshmallow import ValidationError

from redeemer.api_offline import allowance_json, book_sent, secret
from redeemer.scanner import bp
from redeemer.staff_auth import current_counter, signed_in
from redeemer.wording import CARD_REASONS, OFFLINE_REASONS, REFUSALS
from youcard.credentials import trust
from youcard.domain.enums import Category
from youcard.errors import DomainError
from youcard.operations.offline import device_key, issue_allowance
from youcard.operations.verification import revocations_since
from youcard.schemas.partner_offline import OfflineBookingRequestSchema
from youcard.web import db_session, now, undo_writes
from youcard.web.names import category_name
from youcard.web.problems import status_of

REVOCATIONS_AT_ONCE = 5000
MAX_SINCE = 2**62


@bp.app_context_processor
def _offline_page() -> dict[str, Any]:
    return {"offline_words": offline_words}


def offline_words() -> dict[str, Any]:
    """Everything offline.js says, in the page's language."""
    return {
        "online": _("Online"),
        "offlineSince": _("Offline since %(time)s"),
        "listsFrom": _("Lists from %(time)s (%(minutes)s min. ago)"),
        "noLists": _("No offline lists yet: booking offline is not possible."),
        "listsOld": _(
            "Lists older than 24 hours: booking offline is not possible. Please go online once."
        ),
        "clockOff": _(
            "This device's clock is more than 5 minutes off: booking offline is not possible."
        ),
        "off": _("Booking offline is off for this card's benefits."),
        "aboveLimit": _("More than allowed offline: at most %(left)s more on this card today."),
        "aboveBalance": _("More than was left when the card was last checked online: %(left)s."),
        "waitingOne": _("1 offline booking waits to be sent"),
        "waitingMany": _("%(n)s offline bookings wait to be sent"),
        "validOffline": _("Card valid (checked offline)"),
        "offlineNote": _(
            "Checked on this device without a connection: the name and what is left show "
            "once online. Booked offline, the amount is sent later."
        ),
        "doNotBook": _("This card cannot be used. Please do not book."),
        "leftToday": _("offline today still %(amount)s"),
        "invalidAmount": str(REFUSALS["invalid_amount"]),
        "stateWaiting": _("Waiting to be sent"),
        "stateSent": _("Sent and booked"),
        "reasons": {code: str(words) for code, words in CARD_REASONS.items()},
        "categories": {c.value: str(category_name(c)) for c in Category},
        "numbers": {str(c.qr_int): c.value for c in Category},
    }


@bp.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker: keeps the scan page and its scripts for a reload offline."""
    response = send_from_directory(Path(bp.root_path) / "static", "sw.js")
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline/lists")
@signed_in
def offline_lists() -> ResponseReturnValue:
    """What the page needs to verify and book offline: the trust list, the revocations after
    `since`, this browser's allowance (`device`: its own random name), the server's time,
    and a fresh CSRF token for sending its bookings."""
    counter = current_counter()
    since_text = request.args.get("since", "0")
    if not since_text.isdigit() or int(since_text) > MAX_SINCE:
        return jsonify(code="invalid_since", error="since"), 422
    try:
        key = device_key(counter, request.args.get("device"))
    except DomainError as error:
        return jsonify(code=error.code, error=error.message), 422
    session = db_session()
    at = now()
    allowance = allowance_json(
        issue_allowance(session, by=counter, key=key, secret=secret(), now=at)
    )
    issuers = set(counter.issuers)
    document = trust.trust_list(session, now=at)
    document["keys"] = [k for k in document["keys"] if k["iss"] in issuers]
    rows = revocations_since(
        session, since=int(since_text), issuer_ids=counter.issuers, limit=REVOCATIONS_AT_ONCE
    )
    return jsonify(
        csrf_token=generate_csrf(),
        server_time=at.isoformat(),
        allowance={
            **allowance,
            **{k: allowance[k].isoformat() for k in ("issued_at", "valid_until", "server_time")},
        },
        trust_list=document,
        revocations={
            "serials": [row.serial.hex() for row in rows],
            "last_seq": rows[-1].seq if rows else int(since_text),
            "more": len(rows) == REVOCATIONS_AT_ONCE,
        },
    )


@bp.post("/offline/bookings")
@signed_in
def offline_booking() -> ResponseReturnValue:
    """One booking the page made offline (JSON, its Idempotency-Key in the header): 201
    booked, 409 not covered (recorded) with the reason in words, another 4xx refused."""
    key = request.headers.get("Idempotency-Key") or ""
    body = request.get_json(silent=True)
    try:
        fields: dict[str, Any] = OfflineBookingRequestSchema().load(
            body if isinstance(body, dict) else {}
        )
    except ValidationError as error:
        refused = str(REFUSALS["invalid_line"])
        return jsonify(code="invalid_request", error=refused, fields=sorted(error.messages)), 422
    try:
        result = book_sent(current_counter(), fields, key)
    except DomainError as error:
        undo_writes(error)  # a booking not covered is recorded by its follow-up
        reason = str(error.details.get("reason", ""))
        if error.code == "not_covered":
            words = OFFLINE_REASONS.get(reason, OFFLINE_REASONS["not_covered"])
        elif error.code == "credential_invalid":
            words = CARD_REASONS.get(reason, CARD_REASONS["malformed"])
        else:
            words = REFUSALS.get(error.code, error.message)
        return jsonify(code=error.code, reason=reason or None, error=str(words)), status_of(error)
    return (
        jsonify(
            booking_id=result.booking.id,
            receipt=url_for("scanner.receipt", booking_id=result.booking.id),
            available_cents_after=result.available.cents,
            replayed=result.replayed,
        ),
        201,
    )
