"""How the staff pages show things: the names of categories and states, money, days and
times in the page's language, and the policy's role sets for what a page offers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
)
from flask_babel import format_currency, format_date, format_datetime
from flask_babel import lazy_gettext as _l

from youcard.domain.enums import Category, EntitlementStatus
from youcard.web.names import CATEGORY_NAMES, category_name

bp = Blueprint("display", __name__)


STATUS_NAMES = {
    EntitlementStatus.RECORDED: _l("awaiting approval"),
    EntitlementStatus.APPROVED: _l("approved"),
    EntitlementStatus.REJECTED: _l("rejected"),
    EntitlementStatus.REVOKED: _l("revoked"),
}


PARTNER_STATUS_NAMES = {
    "pending": _l("awaiting approval"),
    "active": _l("approved"),
    "suspended": _l("suspended"),
}


CARD_STATUS_NAMES = {
    "active": _l("in use"),
    "revoked": _l("blocked"),
    "replaced": _l("replaced"),
}

CARD_EVENT_NAMES = {
    "card.issue": _l("issued"),
    "card.revoke": _l("blocked"),
    "card.replace": _l("blocked and replaced"),
    "card.print": _l("printed"),
}


@bp.app_template_filter("euro")
def _euro(cents: int | None) -> str:
    return "—" if cents is None else str(format_currency(Decimal(cents) / 100, "EUR"))


@bp.app_template_filter("day")
def _day(value: date | None) -> str:
    return "" if value is None else str(format_date(value, "medium"))


@bp.app_template_filter("category_name")
def _category_name(category: Category) -> str:
    return category_name(category)


@bp.app_template_filter("datetime_berlin")
def _datetime_berlin(value: datetime) -> str:
    return str(format_datetime(value, "short"))


@bp.app_context_processor
def _names() -> dict[str, Any]:
    return {
        "category_names": CATEGORY_NAMES,
        "status_names": STATUS_NAMES,
        "partner_status_names": PARTNER_STATUS_NAMES,
        "card_status_names": CARD_STATUS_NAMES,
        "card_event_names": CARD_EVENT_NAMES,
    }
