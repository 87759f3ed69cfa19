"""Partners (providers), what they may book, their staff and their scanner devices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from youcard.db import Base, BigIntPK, value_enum
from youcard.domain.enums import Category, PartnerStatus
from youcard.domain.models.types import UTCDateTime


class Partner(Base):
    """A provider: sports club, music school, tutor, caterer. Managed by its home issuer."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    iban: Mapped[str] = mapped_column(String(34))  # confirmed: the payment files use it
    # A new IBAN waits for a second administrator's confirmation before money goes there.
    pending_iban: Mapped[str | None] = mapped_column(String(34))
    pending_iban_by: Mapped[str | None] = mapped_column(String(100))  # the actor who asked
    pending_iban_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Where the city's messages to the partner go (credit notes, refused instalments, a change
    # of bank details); None: the partner hears nothing but what its pages show.
    contact_email: Mapped[str | None] = mapped_column(String(254))
    # Its profile (from its application, then its own to edit): what the directory shows
    # when it is `listed`; the contact person, e-mail and phone only when `contact_public`.
    legal_form: Mapped[str | None] = mapped_column(String(60))
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    contact_person: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    opening_hours: Mapped[str | None] = mapped_column(String(500))
    accessibility: Mapped[str | None] = mapped_column(String(300))
    account_holder: Mapped[str | None] = mapped_column(String(200))
    listed: Mapped[bool] = mapped_column(default=False)
    contact_public: Mapped[bool] = mapped_column(default=False)
    status: Mapped[PartnerStatus] = mapped_column(
        value_enum(PartnerStatus, "status"), default=PartnerStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    permissions: Mapped[list[PartnerPermission]] = relationship(
        back_populates="partner", cascade="all, delete-orphan"
    )


class PartnerOffer(Base):
    """What the partner offers in a category, and for what price, in its own words (the
    directory shows them as written)."""

    __tablename__ = "partner_offers"

    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    category: Mapped[Category] = mapped_column(value_enum(Category, "category"), primary_key=True)
    description: Mapped[str] = mapped_column(String(500))
    price: Mapped[str] = mapped_column(String(100))


class PartnerPermission(Base):
    """The partner may book `category` on the cards of `issuer_id`."""

    __tablename__ = "partner_permissions"

    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), primary_key=True)
    category: Mapped[Category] = mapped_column(value_enum(Category, "category"), primary_key=True)

    partner: Mapped[Partner] = relationship(back_populates="permissions")


class PartnerServiceRequest(Base):
    """The partner asks `issuer_id` to accept it for that issuer's cards (a club that serves
    the neighbouring town too). Until it asks, or is accepted, another issuer's
    administrators cannot reach it: they cannot count through the deployment's partners."""

    __tablename__ = "partner_service_requests"

    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_by: Mapped[str] = mapped_column(String(100))  # the actor, as the audit names it


class PartnerUser(Base):
    """A login of a partner's staff (for the scanner page); argon2id password hash."""

    __tablename__ = "partner_users"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Part of every signed-in session; bumped (sign-out, deactivation, a new password) to end
    # all of the user's sessions on the server at once.
    session_generation: Mapped[int] = mapped_column(default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    partner: Mapped[Partner] = relationship()


class DeviceToken(Base):
    """An API credential of a scanner device: shown once, stored as SHA-256 of the token."""

    __tablename__ = "device_tokens"
    __table_args__ = (CheckConstraint("length(token_hash) = 32", name="token_hash_32_bytes"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
