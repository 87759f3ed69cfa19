"""Monthly settlement runs per issuer."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK, value_enum
from youcard.enums import SettlementStatus
from youcard.models.types import UTCDateTime


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
    total_cents: Mapped[int] = mapped_column(BigInteger(), default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
