"""Domain errors with stable machine codes (the same codes the APIs return)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class DomainError(Exception):
    """A refused operation; `code` is stable and machine-readable, `message` is for people."""

    code: str = "domain_error"
    # What the refusal still writes once the refused unit of work is rolled back, in one of
    # its own (a message to the family): a callable taking the session; see youcard.web.followups.
    follow_up: Callable[[Any], object] | None = None

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidRequest(DomainError):
    """The request itself is malformed: a wrong amount, units, key or text."""

    code = "invalid_request"


class Unauthorized(DomainError):
    """No valid credentials for the API (a device or staff token)."""

    code = "unauthorized"
    http_status = 401


class NotFound(DomainError):
    """The object does not exist, or is not visible to the caller (never tell which)."""

    code = "not_found"


class Forbidden(DomainError):
    """The caller may not do this."""

    code = "forbidden"


class Conflict(DomainError):
    """The object's state does not allow this now."""

    code = "conflict"


class InsufficientBudget(Conflict):
    """Not enough left on the entitlement."""

    code = "insufficient_budget"


class CategoryNotPermitted(Forbidden):
    """The partner may not book this category for this issuer."""

    code = "category_not_permitted"


class IdempotencyKeyReused(DomainError):
    """The idempotency key was used before with a different request."""

    code = "idempotency_key_reused"


class CredentialInvalid(DomainError):
    """The card shown cannot be used; `reason` is one of the YC1 reason codes."""

    code = "credential_invalid"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class FourEyesViolation(Forbidden):
    """The one who recorded an entitlement may not decide on it."""

    code = "four_eyes"


def is_unique_violation(error: Exception) -> bool:
    """Whether a database error is a unique constraint refusing a duplicate (PostgreSQL
    SQLSTATE 23505, SQLite's "UNIQUE constraint failed")."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(original)


def from_integrity_error(error: Exception) -> DomainError:
    """A constraint the database enforced, as the refusal a client can act on: a duplicate is
    409 `already_exists`, any other refused value 422 `constraint_violated`. Never carries the
    statement or its parameters (they may hold names)."""
    if is_unique_violation(error):
        return Conflict("This already exists.", code="already_exists")
    return InvalidRequest(
        "A value was refused by the database's rules.", code="constraint_violated"
    )
