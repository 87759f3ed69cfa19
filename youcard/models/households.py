"""Households and their children (the beneficiaries)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from youcard.db import Base, BigIntPK
from youcard.models.types import UTCDateTime


class Household(Base):
    """A family (Bedarfsgemeinschaft), identified by the issuer's reference number."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("issuer_id", "reference"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    reference: Mapped[str] = mapped_column(String(60))
    family_name: Mapped[str] = mapped_column(String(200))
    # The family's sign-in: SHA-256 (hex) of the access code on the approval letter (80
    # random bits), with a child's birth date; guessing locks the household for a while.
    access_code_hash: Mapped[str | None] = mapped_column(String(200), unique=True)
    access_code_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    family_failed_logins: Mapped[int] = mapped_column(default=0)
    family_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of every family session; a new access code bumps it and ends the old sessions.
    session_generation: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    children: Mapped[list[Child]] = relationship(back_populates="household", order_by="Child.id")


class Child(Base):
    """A child: BuT entitlements are per child."""

    __tablename__ = "children"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    household: Mapped[Household] = relationship(back_populates="children")
