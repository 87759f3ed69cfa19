"""The audit log page: who did what, in words; filters; the newest first, a page at a time;
the hash chain checked on request, for the signed-in issuer only."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from issuer.auth import principal, require_roles
from youcard.clock import DateOutOfRange, berlin_midnight, parse_day
from youcard.policy import ADMINISTRATORS, staff_actor
from youcard.privacy.access_log import OBJECT_TYPES as OBJECT_TYPES_SEEN
from youcard.privacy.access_log import access_page
from youcard.reads import audit_log as audit_reads  # its COUNT_CAP read at each request
from youcard.reads.actors import actor_names
from youcard.reads.audit_log import FILTERS, audit_events, check_chain
from youcard.web import db_session

bp = Blueprint("audit_log", __name__, url_prefix="/admin")
PAGE = 200

ACTION_NAMES = {
    "booking.create": _l("booked"),
    "booking.cancel": _l("booking cancelled"),
    "card.issue": _l("card issued"),
    "card.revoke": _l("card blocked"),
    "card.replace": _l("card blocked and replaced"),
    "cards.print": _l("cards printed"),
    "child.create": _l("child recorded"),
    "child.update": _l("child corrected"),
    "device_token.create": _l("device token made"),
    "device_token.revoke": _l("device token revoked"),
    "entitlement.record": _l("benefit recorded"),
    "entitlement.approve": _l("benefit approved"),
    "entitlement.reject": _l("benefit rejected"),
    "entitlement.revoke": _l("benefit revoked"),
    "entitlement.import_change": _l("benefit changed or ended by an import"),
    "family.login": _l("family signed in"),
    "family.login_failed": _l("family sign-in failed"),
    "family.lockout": _l("family sign-in locked"),
    "household.create": _l("family recorded"),
    "import.upload": _l("approvals file uploaded"),
    "import.check": _l("approvals file checked (dry run)"),
    "import.record": _l("approvals file checked and waiting"),
    "import.refuse": _l("approvals file refused"),
    "import.confirm": _l("import confirmed"),
    "import.reject": _l("import rejected"),
    "household.update": _l("family corrected"),
    "household.reminders": _l("family switched its reminders on or off"),
    "household.message_choices": _l("family chose its language or way of messages"),
    "household.access_code": _l("access code made"),
    "household.letter": _l("approval letter made"),
    "issuer.account": _l("city's account changed"),
    "issuer.office_details": _l("office details changed"),
    "key.create": _l("signing key made"),
    "key.retire": _l("signing key retired"),
    "key.withdraw": _l("signing key withdrawn"),
    "message.resend": _l("message to a family sent again"),
    "partner.create": _l("partner registered"),
    "partner.active": _l("partner approved"),
    "partner.suspended": _l("partner suspended"),
    "partner.permissions": _l("partner's benefits changed"),
    "partner_user.create": _l("partner login made"),
    "settlement.create": _l("settlement prepared"),
    "settlement.finalize": _l("settlement finalized"),
    "staff.login": _l("signed in"),
    "staff.login_failed": _l("sign-in failed"),
    "staff.throttled": _l("sign-in slowed down"),
    "staff.throttle_lifted": _l("sign-in wait lifted"),
    "staff.create": _l("user account made"),
    "staff.role": _l("role changed"),
    "staff.deactivate": _l("user account deactivated"),
    "staff.activate": _l("user account activated"),
    "staff.unlock": _l("sign-in waits lifted"),
    "staff.reset_password": _l("password reset"),
    "staff.password_changed": _l("own password changed"),
    "staff_token.create": _l("API token made"),
}
OBJECT_TYPES = {
    "household": _l("family"),
    "child": _l("child"),
    "entitlement": _l("benefit"),
    "card": _l("card"),
    "booking": _l("booking"),
    "partner": _l("partner"),
    "partner_user": _l("partner login"),
    "device_token": _l("device token"),
    "staff_user": _l("user account"),
    "staff_token": _l("API token"),
    "settlement": _l("settlement"),
    "signing_key": _l("signing key"),
    "issuer": _l("city"),
    "import_batch": _l("import"),
    "message": _l("message to a family"),
}


def _day_start(text: str | None) -> datetime | None:
    """The instant a `YYYY-MM-DD` day begins; None when not given; 422 when out of range."""
    if not text:
        return None
    try:
        return berlin_midnight(parse_day(text))
    except DateOutOfRange:
        abort(422)


@bp.get("/audit")
@require_roles(*ADMINISTRATORS)
def audit_log() -> ResponseReturnValue:
    """This issuer's audit events, newest first, PAGE at a time ("older" goes on)."""
    store, by = db_session(), principal()
    filters = {k: (request.args.get(k) or "").strip()[:80] for k in FILTERS}
    since, until = _day_start(request.args.get("from")), _day_start(request.args.get("to"))
    before = request.args.get("before", "")
    if before and (not before.isdigit() or len(before) > 18):
        abort(422)
    page = audit_events(
        store,
        by=by,
        limit=PAGE,
        filters=filters,
        since=since,
        count=True,
        until=until + timedelta(days=1) if until else None,
        before=int(before) if before else None,
    )
    events, more, counted = page.events, page.next_before is not None, page.counted or 0
    checked = request.args.get("verify") == "1"
    problems = check_chain(store, by=by) if checked else []
    older = {k: v for k, v in request.args.items() if k not in ("before", "verify")}
    return render_template(
        "admin/audit.html",
        events=events,
        names=actor_names(store, {e.actor for e in events}),
        action_names=ACTION_NAMES,
        object_types=OBJECT_TYPES,
        filters=filters,
        checked=checked,
        problems=problems,
        since=request.args.get("from", ""),
        until=request.args.get("to", ""),
        more=more,
        counted=min(counted, audit_reads.COUNT_CAP),
        capped=counted > audit_reads.COUNT_CAP,
        older={**older, "before": page.next_before} if more else None,
    )


def _id(name: str) -> int | None:
    text = request.args.get(name, "")
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        abort(422)
    return int(text)


@bp.get("/access-log")
@require_roles(*ADMINISTRATORS)
def access_log() -> ResponseReturnValue:
    """Who looked at which family or child, newest first (filters: the family or child, the
    staff member)."""
    store = db_session()
    object_type = request.args.get("object_type") or None
    if object_type is not None and object_type not in OBJECT_TYPES_SEEN:
        abort(422)
    page = access_page(
        store,
        by=principal(),
        limit=PAGE,
        object_type=object_type,
        object_id=_id("object_id"),
        staff_user_id=_id("staff"),
        before=_id("before"),
    )
    filters = {k: v for k, v in request.args.items() if k in ("object_type", "object_id", "staff")}
    return render_template(
        "admin/access_log.html",
        page=page,
        names=actor_names(store, {staff_actor(e.staff_user_id) for e in page.events}),
        object_types=OBJECT_TYPES,
        filters=filters,
        older={**filters, "before": page.next_before} if page.next_before else None,
    )
