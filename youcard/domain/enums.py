"""Enumerations of the domain, stored in the database by value."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """The four benefit categories redeemed at partners (§ 28 SGB II)."""

    PARTICIPATION = "participation"
    LUNCH = "lunch"
    TUTORING = "tutoring"
    TRIPS = "trips"

    @property
    def qr_int(self) -> int:
        """The integer this category has in the YC1 credential."""
        return _QR_INTS[self]

    @classmethod
    def from_qr_int(cls, value: int) -> Category:
        """The category for its YC1 integer; ValueError for an unknown one."""
        for category, number in _QR_INTS.items():
            if number == value:
                return category
        raise ValueError(f"unknown category number {value!r}")


_QR_INTS = {
    Category.PARTICIPATION: 1,
    Category.LUNCH: 2,
    Category.TUTORING: 3,
    Category.TRIPS: 4,
}


class RuleKind(StrEnum):
    """How an entitlement's budget is measured."""

    MONTHLY = "monthly"
    TOTAL = "total"
    UNITS = "units"


class Accrual(StrEnum):
    """For monthly rules: whether the months' amounts accrue or are all there from day one."""

    ACCRUE = "accrue"
    UPFRONT = "upfront"


class EntitlementStatus(StrEnum):
    """Life cycle: recorded → approved | rejected, an approved one later revoked. One whose
    period has ended stays approved: its period says it is over (nothing sets a state)."""

    RECORDED = "recorded"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class CardStatus(StrEnum):
    """A card is active until it is revoked or replaced by a new serial."""

    ACTIVE = "active"
    REVOKED = "revoked"
    REPLACED = "replaced"


class Role(StrEnum):
    """Staff roles of an issuer."""

    CASEWORKER = "caseworker"
    APPROVER = "approver"
    ADMINISTRATOR = "administrator"


class PartnerStatus(StrEnum):
    """A partner books only while active."""

    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"


class KeyStatus(StrEnum):
    """Signing keys: one active per issuer; retired keys still verify until their cards expire.

    A withdrawn key is out of the trust list (after its last card expired); a
    revoked one was taken out early (compromise).
    """

    ACTIVE = "active"
    RETIRED = "retired"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"


class BookingKind(StrEnum):
    """A booking, or the cancellation of one (bookings are never edited)."""

    BOOKING = "booking"
    CANCELLATION = "cancellation"


class SettlementStatus(StrEnum):
    """A monthly settlement run is a draft until finalized."""

    DRAFT = "draft"
    FINALIZED = "finalized"
