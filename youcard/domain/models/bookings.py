"""Bookings and cancellations: an append-only ledger, never edited or deleted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK, value_enum
from youcard.domain.enums import BookingKind, Category
from youcard.domain.models.types import UTCDateTime


class Booking(Base):
    """A service booked against an entitlement, or (kind `cancellation`) the reversal of one.

    A cancellation is its own row pointing at the booking it cancels; the
    unique `cancels_id` makes "cancelled at most once" a database rule, the
    unique (partner, idempotency key) "booked at most once".
    """

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("partner_id", "idempotency_key"),
        UniqueConstraint("cancels_id"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("units >= 0", name="units_not_negative"),
        CheckConstraint(
            "(kind = 'booking' AND cancels_id IS NULL AND idempotency_key IS NOT NULL)"
            " OR (kind = 'cancellation' AND cancels_id IS NOT NULL)",
            name="kind_shape",
        ),
        Index("ix_bookings_partner_created", "partner_id", "created_at"),
        Index("ix_bookings_issuer_created", "issuer_id", "created_at"),
        Index("ix_bookings_entitlement", "entitlement_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    entitlement_id: Mapped[int] = mapped_column(ForeignKey("entitlements.id"))
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
    kind: Mapped[BookingKind] = mapped_column(value_enum(BookingKind, "kind"))
    cancels_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    category: Mapped[Category] = mapped_column(value_enum(Category, "category"))
    amount_cents: Mapped[int]
    units: Mapped[int] = mapped_column(default=0)
    service_date: Mapped[date]
    reference: Mapped[str | None] = mapped_column(String(140))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    device_token_id: Mapped[int | None] = mapped_column(ForeignKey("device_tokens.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"), index=True)
