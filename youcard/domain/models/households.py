"""Households and their children (the beneficiaries)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from youcard.db import Base, BigIntPK
from youcard.domain.models.types import UTCDateTime
from youcard.domain.search import fold


class Household(Base):
    """A family (Bedarfsgemeinschaft), identified by the issuer's reference number."""

    __tablename__ = "households"
    __table_args__ = (
        UniqueConstraint("issuer_id", "reference"),
        CheckConstraint(
            "language IN ('de', 'en', 'tr', 'ar', 'uk', 'ru')", name="language_known"
        ),  # youcard.domain.languages.FAMILY_LANGUAGES
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    reference: Mapped[str] = mapped_column(String(60))
    family_name: Mapped[str] = mapped_column(String(200))
    # Where letters go (a window envelope), how to reach the family, the family's language
    # (letters and messages: German beside it when it is not German).
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(5), default="de")
    # A permanent delivery failure (youcard.messages): the caseworker asks for a new address
    email_undeliverable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    phone_undeliverable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The family stopped reminders on its page (the messages the law needs still go)
    reminders_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How the family wants messages: "both", "email" or "sms" (its own choice, on its page)
    message_channel: Mapped[str] = mapped_column(String(10), default="both")
    # The family's sign-in: SHA-256 (hex) of the access code on the approval letter (80
    # random bits), with a child's birth date; guessing locks the household for a while.
    access_code_hash: Mapped[str | None] = mapped_column(String(200), unique=True)
    access_code_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    access_code_set_by: Mapped[str | None] = mapped_column(String(100))  # the actor
    # When the family had the current code in hand: shown to staff (for a letter or the
    # counter) at once; made for an approval message, when that message was sent. A code
    # never delivered is replaced by the next letter.
    access_code_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    family_failed_logins: Mapped[int] = mapped_column(default=0)
    family_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of every family session; a new access code bumps it and ends the old sessions.
    session_generation: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # youcard.privacy.retention
    # Reference and name as searched (youcard.domain.search.fold), kept up to date on every write.
    search_key: Mapped[str] = mapped_column(String(300), default="")

    children: Mapped[list[Child]] = relationship(back_populates="household", order_by="Child.id")


class Child(Base):
    """A child: BuT entitlements are per child."""

    __tablename__ = "children"
    __table_args__ = (UniqueConstraint("issuer_id", "child_ref"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None]  # None once erased (youcard.privacy.retention)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    search_key: Mapped[str] = mapped_column(String(450), default="")  # given and family name
    # The case-management system's person id (imports find the child by it), unique per issuer.
    child_ref: Mapped[str | None] = mapped_column(String(60))

    household: Mapped[Household] = relationship(back_populates="children")


def household_search_key(reference: str, family_name: str) -> str:
    """A household's search key: set on every ORM write below, and by whoever inserts many
    rows past the ORM (the approvals import)."""
    return fold(f"{reference} {family_name}")


def child_search_key(given_name: str, family_name: str) -> str:
    """A child's search key (as household_search_key)."""
    return fold(f"{given_name} {family_name}")


@event.listens_for(Household, "before_insert")
@event.listens_for(Household, "before_update")
def _household_search_key(_mapper: object, _connection: object, household: Household) -> None:
    household.search_key = household_search_key(household.reference, household.family_name)


@event.listens_for(Child, "before_insert")
@event.listens_for(Child, "before_update")
def _child_search_key(_mapper: object, _connection: object, child: Child) -> None:
    child.search_key = child_search_key(child.given_name, child.family_name)
