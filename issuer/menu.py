"""The staff pages' menu, grouped by the office's tasks: daily work with families, money,
administration. Each entry needs one permission of the core (youcard.policy.Permissions),
so each role sees a short, stable menu, and the pages get the same flags (`can`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from youcard.policy import Permissions

bp = Blueprint("menu", __name__)


@dataclass(frozen=True)
class Entry:
    label: str
    endpoint: str
    needs: str | None = None  # a flag of Permissions; None: every staff member


GROUPS = (
    (
        _l("Daily work"),
        (
            Entry(_l("Overview"), "pages.dashboard"),
            Entry(_l("Families"), "households.index"),
            Entry(_l("Approvals"), "approvals.approvals", "decide"),
            Entry(_l("Today's letters"), "letters.today", "record"),
            Entry(_l("Print cards"), "cards.print_queue", "decide"),
            Entry(_l("Imports"), "imports.index"),
            Entry(_l("Messages"), "messages.index"),
        ),
    ),
    (
        _l("Money"),
        (
            Entry(_l("Reports"), "reports.index", "read_reports"),
            Entry(_l("Settlement"), "settlements.index", "administer"),
            Entry(_l("Partners"), "admin.partners", "administer"),
            Entry(_l("Partner applications"), "applications.index", "administer"),
            Entry(_l("Offline at the counter"), "offline.index", "read_reports"),
        ),
    ),
    (
        _l("Administration"),
        (
            Entry(_l("User accounts"), "staff.index", "administer"),
            Entry(_l("Office details"), "office.settings", "administer"),
            Entry(_l("Signing keys"), "admin.key_list", "administer"),
            Entry(_l("Audit log"), "audit_log.audit_log", "administer"),
            Entry(_l("Access log"), "audit_log.access_log", "administer"),
        ),
    ),
)


def menu_of(can: Permissions) -> list[tuple[str, list[Entry]]]:
    """The groups and entries `can` reaches, in the menu's order; empty groups left out."""
    groups = []
    for label, entries in GROUPS:
        shown = [e for e in entries if e.needs is None or getattr(can, e.needs)]
        if shown:
            groups.append((str(label), shown))
    return groups


@bp.app_context_processor
def _menu() -> dict[str, object]:
    if not getattr(current_user, "is_authenticated", False) or not hasattr(current_user, "role"):
        return {}
    can = Permissions.of(current_user.role)
    here = request.endpoint or ""
    return {"can": can, "menu": menu_of(can), "menu_here": here}
