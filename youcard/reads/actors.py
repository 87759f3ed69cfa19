"""Who did something, in words: the audit log and the pages name people, not `staff:3`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from youcard.db import Session
from youcard.domain.models import DeviceToken, Household, Partner, PartnerUser, StaffUser

# actor kind -> (model, how it is named)
_KINDS: dict[str, tuple[Any, Callable[[Any], str]]] = {
    "staff": (StaffUser, lambda row: row.display_name),
    "partner_user": (PartnerUser, lambda row: row.display_name),
    "partner": (Partner, lambda row: row.name),
    "device": (DeviceToken, lambda row: row.name),
    # an erased family (youcard.privacy.retention) by its reference
    "family": (Household, lambda row: f"Familie {row.family_name or row.reference}"),
}


def actor_names(session: Session, actors: Iterable[str | None]) -> dict[str, str]:
    """A readable name for each actor (`staff:3` → its display name); unknown ones as given."""
    wanted: dict[str, set[int]] = {kind: set() for kind in _KINDS}
    names: dict[str, str] = {}
    for actor in actors:
        if not actor:
            continue
        kind, _, number = actor.partition(":")
        if kind in wanted and number.isdigit():
            wanted[kind].add(int(number))
        names[actor] = actor
    for kind, (model, label) in _KINDS.items():
        if wanted[kind]:
            for row in session.scalars(select(model).where(model.id.in_(wanted[kind]))):
                names[f"{kind}:{row.id}"] = label(row)
    return names
