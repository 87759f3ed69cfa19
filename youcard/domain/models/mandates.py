"""Mandates (docs/partner-api.md): a partner's standing authorization for one
child and one category, made only by showing the card, with the partner's own reference;
optionally a monthly instalment on a day of the month."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK, value_enum
from youcard.domain.enums import Category
from youcard.domain.models.types import UTCDateTime

MANDATE_STATUSES = ("active", "ended")


class Mandate(Base):
    """A standing authorization. `next_due` is the day its next instalment is booked (none:
    no instalments, or none left); the jobs book what is due and move it a month on."""

    __tablename__ = "mandates"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'ended')", name="status_known"),
        CheckConstraint(
            "monthly_amount_cents IS NULL OR monthly_amount_cents > 0", name="amount_positive"
        ),
        CheckConstraint("day_of_month BETWEEN 1 AND 31", name="day_of_month_in_range"),
        CheckConstraint("valid_until IS NULL OR valid_from <= valid_until", name="period_ordered"),
        # One active mandate per partner, child, category and reference: a second is a 409.
        Index(
            "uq_mandates_active",
            "partner_id",
            "child_id",
            "category",
            "reference",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_mandates_due", "next_due"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))  # the card shown
    category: Mapped[Category] = mapped_column(value_enum(Category, "category"))
    reference: Mapped[str] = mapped_column(String(140))  # the partner's member or pupil number
    monthly_amount_cents: Mapped[int | None]
    day_of_month: Mapped[int] = mapped_column(default=1)
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(10), default="active")
    next_due: Mapped[date | None]
    last_month: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM of the last instalment
    last_result: Mapped[str | None] = mapped_column(String(40))  # booked, or the refusal's code
    last_booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))  # the actor: device:3, partner_user:7
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(100))  # partner, staff or family actor
