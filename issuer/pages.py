"""Staff pages and the public trust list."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from issuer.auth import principal, require_roles
from youcard.credentials import trust
from youcard.policy import ALL_STAFF
from youcard.reads.dashboard import dashboard as dashboard_of
from youcard.web import db_session, now

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def _role_names() -> dict[str, dict[str, str]]:
    return {
        "role_names": {
            "caseworker": _("caseworker"),
            "approver": _("approver"),
            "administrator": _("administrator"),
        }
    }


TRUST_LIST_MAX_AGE = 300


@bp.get("/")
@require_roles(*ALL_STAFF)
def dashboard() -> ResponseReturnValue:
    """The start page: who is signed in and what waits for them."""
    seen = dashboard_of(db_session(), by=principal())
    return render_template(
        "dashboard.html", waiting=seen.waiting, households=seen.households, blocked=seen.blocked
    )


@bp.get("/.well-known/youcard/trust-list.json")
def trust_list() -> ResponseReturnValue:
    """The public keys of every issuer here (public: scanners and partners fetch it)."""
    document = trust.trust_list(db_session(), now=now())
    keys_only = json.dumps(document["keys"], sort_keys=True).encode()
    etag = hashlib.sha256(keys_only).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(json.dumps(document, sort_keys=True), mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={TRUST_LIST_MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
