"""What a refused request still writes once its own writes are undone: a refusal may carry
a follow-up (DomainError.follow_up, e.g. telling the family that a booking at the counter
was refused), run in a transaction of its own after the request's rollback by the unit of
work's owner (youcard.web). A follow-up that fails is logged and dropped: the refusal's
answer stands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g

from youcard.errors import DomainError

FOLLOW_UPS = "youcard_follow_ups"


def follow_up(error: DomainError) -> None:
    """Keep the refusal's follow-up for the end of the request, if it has one."""
    if error.follow_up is not None:
        g.setdefault(FOLLOW_UPS, []).append(error.follow_up)


def pending_follow_ups() -> list[Callable[[Any], object]]:
    """The follow-ups of this request's refusals, each once (youcard.web runs them)."""
    callbacks: list[Callable[[Any], object]] = g.pop(FOLLOW_UPS, [])
    return callbacks
