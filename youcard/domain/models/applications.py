"""Partners who apply themselves (`/partners/apply`): the city's terms they accept (one
text per version, kept for ever: an application names the version it accepted) and the
applications waiting for an administrator. No partner and no login exist before one
approves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK
from youcard.domain.models.types import UTCDateTime


class PartnerTerms(Base):
    """One version of a city's terms for partners, as published."""

    __tablename__ = "partner_terms"
    __table_args__ = (UniqueConstraint("issuer_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    version: Mapped[int]
    text: Mapped[str] = mapped_column(Text())
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str] = mapped_column(String(100))  # the actor


class PartnerApplication(Base):
    """What an applicant wrote, as written (checked by the same rules as the office's
    pages), until an administrator decides; then the partner it became, or why not."""

    __tablename__ = "partner_applications"
    __table_args__ = (Index("ix_partner_applications_waiting", "issuer_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    status: Mapped[str] = mapped_column(String(10), default="waiting")  # approved, refused
    name: Mapped[str] = mapped_column(String(200))
    legal_form: Mapped[str] = mapped_column(String(60))
    street: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    contact_person: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    opening_hours: Mapped[str | None] = mapped_column(String(500))
    accessibility: Mapped[str | None] = mapped_column(String(300))
    iban: Mapped[str] = mapped_column(String(34))
    account_holder: Mapped[str] = mapped_column(String(200))
    offers: Mapped[str] = mapped_column(Text())  # JSON: [{category, description, price}]
    terms_version: Mapped[int]
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))  # the actor
    refusal_reason: Mapped[str | None] = mapped_column(String(500))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
