"""Booking at a counter without signal (docs/offline.md): the issuer's offline limit per
category, the allowances counters fetch while online, and every offline booking as it
arrived — booked, or not covered and why."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK, value_enum
from youcard.domain.enums import Category
from youcard.domain.models.types import UTCDateTime


class OfflineLimit(Base):
    """What a counter may book offline on one card in one category on one day (cents); a
    category without a row: 0, offline booking off. Set by the issuer's administrators."""

    __tablename__ = "offline_limits"

    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), primary_key=True)
    category: Mapped[Category] = mapped_column(value_enum(Category, "category"), primary_key=True)
    cents_per_card_day: Mapped[int] = mapped_column(default=0)
    set_by: Mapped[str] = mapped_column(String(100))  # as the audit log names them
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OfflineAllowance(Base):
    """What one counter (a device token, or a browser of the partner's staff) may book
    offline for 24 hours: the limits of the categories it may book, as fetched."""

    __tablename__ = "offline_allowances"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, told to the counter
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    device_token_id: Mapped[int | None] = mapped_column(ForeignKey("device_tokens.id"))
    partner_user_id: Mapped[int | None] = mapped_column(ForeignKey("partner_users.id"))
    device_key: Mapped[str] = mapped_column(String(64))  # which counter (the risk's devices)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    limits: Mapped[str] = mapped_column(Text())  # JSON {issuer: {category: cents}}
    signature: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 of the allowance, hex


class OfflineBooking(Base):
    """A booking made offline, as it arrived: `booked` (its booking) or `not_covered` (the
    reason, in the API's codes). One per partner and idempotency key: sent again, the same
    answer. `late`: it arrived more than 24 hours after its time of service."""

    __tablename__ = "offline_bookings"
    __table_args__ = (
        UniqueConstraint("partner_id", "idempotency_key"),
        Index("ix_offline_bookings_issuer_service", "issuer_id", "service_date"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    allowance_id: Mapped[str] = mapped_column(ForeignKey("offline_allowances.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    category: Mapped[Category] = mapped_column(value_enum(Category, "category"))
    amount_cents: Mapped[int]
    units: Mapped[int | None]
    service_date: Mapped[date] = mapped_column(Date())
    offline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str] = mapped_column(String(12))  # booked, not_covered
    reason: Mapped[str | None] = mapped_column(String(40))  # why not covered
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
