"""Monthly settlement runs per issuer."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK, value_enum
from youcard.domain.enums import Category, SettlementStatus
from youcard.domain.models.types import UTCDateTime


class Settlement(Base):
    """One issuer's month; finalizing locks the bookings it contains."""

    __tablename__ = "settlements"
    __table_args__ = (
        UniqueConstraint("issuer_id", "month"),
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    month: Mapped[date]
    status: Mapped[SettlementStatus] = mapped_column(
        value_enum(SettlementStatus, "status"), default=SettlementStatus.DRAFT
    )
    # paid out by this run (SEPA control sum); net may be below it where a partner's
    # corrections exceed its bookings (the shortfall is carried into the next run)
    total_cents: Mapped[int] = mapped_column(BigInteger(), default=0)
    net_cents: Mapped[int] = mapped_column(BigInteger(), default=0)
    bookings_count: Mapped[int] = mapped_column(BigInteger(), default=0)
    reference: Mapped[str] = mapped_column(String(35))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finalized_by: Mapped[str | None] = mapped_column(String(80))


class SettlementLine(Base):
    """A partner's bookings and cancellations in one category within a run."""

    __tablename__ = "settlement_lines"
    __table_args__ = (UniqueConstraint("settlement_id", "partner_id", "category"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    category: Mapped[Category] = mapped_column(value_enum(Category, "category"))
    bookings: Mapped[int] = mapped_column(BigInteger())
    booked_cents: Mapped[int] = mapped_column(BigInteger())
    cancellations: Mapped[int] = mapped_column(BigInteger())
    cancelled_cents: Mapped[int] = mapped_column(BigInteger())
    net_cents: Mapped[int] = mapped_column(BigInteger())


class SettlementPayment(Base):
    """What a run pays one partner: its net plus what an earlier run carried over (a
    negative correction), never below zero; a shortfall is carried into the next run."""

    __tablename__ = "settlement_payments"
    __table_args__ = (
        UniqueConstraint("settlement_id", "partner_id"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint("carried_in_cents <= 0", name="carried_in_not_positive"),
        CheckConstraint("carried_out_cents <= 0", name="carried_out_not_positive"),
        CheckConstraint(
            "amount_cents + carried_out_cents = net_cents + carried_in_cents", name="balanced"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    partner_name: Mapped[str] = mapped_column(String(200))
    iban: Mapped[str] = mapped_column(String(34))
    net_cents: Mapped[int] = mapped_column(BigInteger())
    carried_in_cents: Mapped[int] = mapped_column(BigInteger(), default=0)
    amount_cents: Mapped[int] = mapped_column(BigInteger())
    carried_out_cents: Mapped[int] = mapped_column(BigInteger(), default=0)
    end_to_end_id: Mapped[str] = mapped_column(String(35))
