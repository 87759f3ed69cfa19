"""The outbox page: every message to the city's families, by state and channel, newest
first; a message that was not delivered is sent again from here once the family can be
reached (docs/messages.md)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from issuer.auth import principal, require_roles
from issuer.refusals import refused
from youcard.errors import DomainError
from youcard.operations.messages import resend_message
from youcard.policy import ALL_STAFF, RECORDERS
from youcard.reads.messages import CHANNELS, STATES, outbox_page
from youcard.web import db_session, now
from youcard.web.names import MESSAGE_CHANNELS, MESSAGE_EVENTS, MESSAGE_STATES

bp = Blueprint("messages", __name__)
PAGE = 100


@bp.get("/messages")
@require_roles(*ALL_STAFF)
def index() -> ResponseReturnValue:
    """The outbox, filtered by state and channel, a page at a time."""
    state = request.args.get("state") if request.args.get("state") in STATES else None
    channel = request.args.get("channel") if request.args.get("channel") in CHANNELS else None
    before_text = request.args.get("before") or ""
    before = int(before_text) if before_text.isdigit() and len(before_text) < 19 else None
    page = outbox_page(
        db_session(), by=principal(), limit=PAGE, state=state, channel=channel, before=before
    )
    return render_template(
        "messages/index.html",
        page=page,
        state=state,
        channel=channel,
        states=STATES,
        channels=CHANNELS,
        event_names=MESSAGE_EVENTS,
        channel_names=MESSAGE_CHANNELS,
        state_names=MESSAGE_STATES,
    )


@bp.post("/messages/<int:message_id>/resend")
@require_roles(*RECORDERS)
def resend(message_id: int) -> ResponseReturnValue:
    """Send a message that was not delivered again (to the family's address as it is now)."""
    try:
        resend_message(db_session(), by=principal(), message_id=message_id, now=now())
    except DomainError as error:
        refused(error)
    else:
        flash(_("The message waits to be sent again."), "info")
    return redirect(url_for("messages.index", state="failed"), 303)
