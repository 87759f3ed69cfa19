"""Who may do what: the role sets of every operation, page and API route, in one place.

Pages and the staff API decide with these sets before reading a body (403 early); the
operations decide again with them (the gate), so a new route cannot forget a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from youcard.enums import Role
from youcard.errors import Forbidden

# Record families, children and benefits; make access codes.
RECORDERS = frozenset({Role.CASEWORKER, Role.ADMINISTRATOR})
# Approve, reject and revoke benefits (never one they recorded); issue and block cards.
DECIDERS = frozenset({Role.APPROVER, Role.ADMINISTRATOR})
# Issue a new card for a blocked one (not the first card: that is DECIDERS').
REPLACERS = RECORDERS | DECIDERS
# Partners, signing keys, settlements, the audit log, staff tokens.
ADMINISTRATORS = frozenset({Role.ADMINISTRATOR})
# The city's figures.
REPORT_READERS = frozenset({Role.APPROVER, Role.ADMINISTRATOR})
# Look families up, see what was booked.
ALL_STAFF = frozenset(Role)


@dataclass(frozen=True)
class Permissions:
    """What a role may do, as flags for pages and menus: templates ask these, never a role
    (the sets above stay the one source; the operations check them again)."""

    record: bool  # families, children, benefits, letters, access codes, imports
    decide: bool  # approve and reject benefits, issue, block and print cards
    replace_cards: bool
    read_reports: bool
    administer: bool  # partners, money, keys, logs, accounts, the office's details

    @classmethod
    def of(cls, role: Role) -> Permissions:
        """The permissions of `role`."""
        return cls(
            record=role in RECORDERS,
            decide=role in DECIDERS,
            replace_cards=role in REPLACERS,
            read_reports=role in REPORT_READERS,
            administer=role in ADMINISTRATORS,
        )


class StaffMember(Protocol):
    """What the policy needs of a staff member (a StaffUser row or a signed-in principal)."""

    @property
    def role(self) -> Role: ...

    @property
    def active(self) -> bool: ...


def require_role(staff: StaffMember, roles: frozenset[Role], what: str) -> None:
    """Forbidden (`role_not_permitted`) unless `staff` is active and has one of `roles`."""
    if not staff.active or staff.role not in roles:
        raise Forbidden(f"Your role may not {what}.", code="role_not_permitted")


@dataclass(frozen=True)
class Staff:
    """Who acts in an operation: a staff member with role and issuer (the tenant), or the
    system (the CLI, the demo data) acting for an issuer. Operations decide with it."""

    issuer_id: str
    role: Role
    actor: str  # as the audit log names them
    active: bool = True
    user_id: int | None = None  # the staff account; None for the system

    @classmethod
    def of(cls, user: StaffRow) -> Staff:
        """The principal of a staff user row."""
        return cls(user.issuer_id, user.role, f"staff:{user.id}", user.active, user.id)

    @classmethod
    def system(cls, issuer_id: str, actor: str) -> Staff:
        """The system acting for `issuer_id` with every right (CLI commands, demo data)."""
        return cls(issuer_id, Role.ADMINISTRATOR, actor)


class StaffRow(Protocol):
    """What a principal is made of (youcard.models.StaffUser)."""

    id: int
    issuer_id: str
    role: Role
    active: bool


@dataclass(frozen=True)
class Family:
    """A signed-in family (the family area): acts on its own household's children only."""

    household_id: int
    issuer_id: str

    @property
    def actor(self) -> str:
        """As the audit log names the family."""
        return f"family:{self.household_id}"
