"""Who acts and what they may do: the principals every operation takes as `by`, and the role
sets of every operation, page and API route, in one place.

The principals: `Staff` (a staff member of an issuer), `System` (jobs, CLI commands and the
demo data acting for an issuer), `Counter` (a partner, through a device or one of its staff)
and `Family` (a signed-in household). Pages and the staff API decide with the role sets
before reading a body (403 early); the operations decide again with them (the gate), so a
new route cannot forget a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from youcard.domain.enums import Category, Role
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


def staff_actor(user_id: int) -> str:
    """How the audit log names a staff member (youcard.reads.actors puts a name to it)."""
    return f"staff:{user_id}"


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
        return cls(user.issuer_id, user.role, staff_actor(user.id), user.active, user.id)

    @classmethod
    def system(cls, issuer_id: str, actor: str) -> System:
        """The system acting for `issuer_id` with every right (CLI commands, jobs, demo data)."""
        return System(issuer_id, Role.ADMINISTRATOR, actor)

    @property
    def person(self) -> int | None:
        """The staff account of the person acting; None for the system."""
        return self.user_id


@dataclass(frozen=True)
class System(Staff):
    """The system acting for one issuer with every right an administrator has: a CLI command,
    a job, the demo data. It is no person: what needs a person's name (recording and deciding
    a benefit: four eyes) refuses it."""


class StaffRow(Protocol):
    """What a principal is made of (youcard.domain.models.StaffUser)."""

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


@dataclass(frozen=True)
class Counter:
    """A partner's counter: the partner, through one of its devices (the API) or one of its
    staff (the scanner page), with what it may book on whose cards."""

    partner_id: int
    partner_name: str
    permissions: frozenset[tuple[str, Category]]
    device_id: int | None = None
    partner_user_id: int | None = None

    @property
    def actor(self) -> str:
        """The audit log's name for this counter."""
        if self.device_id is not None:
            return f"device:{self.device_id}"
        if self.partner_user_id is not None:
            return f"partner_user:{self.partner_user_id}"
        return f"partner:{self.partner_id}"

    @classmethod
    def of_partner(cls, partner_id: int) -> Counter:
        """The partner itself, as its mandates book for it (the instalments job): no device
        and no staff member; what it may book is the ledger's to check."""
        return cls(partner_id, "", frozenset())

    @property
    def issuers(self) -> list[str]:
        """The issuers whose cards this partner accepts."""
        return sorted({issuer for issuer, _ in self.permissions})

    def categories_for(self, issuer_id: str) -> set[Category]:
        """What the partner may book on that issuer's cards."""
        return {category for issuer, category in self.permissions if issuer == issuer_id}


# Whoever acts in an operation (its `by`).
Principal = Staff | Counter | Family
