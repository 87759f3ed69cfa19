"""The end of the money records' retention (youcard.privacy.retention.forget_old_money): one row
whose day, set only by the retention job, is the one exception to the triggers that keep
bookings and finalized settlements (migration 0022)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base


class MoneyRetention(Base):
    """Bookings served, and finalized settlements of months, before `forget_before` may be
    deleted; NULL: nothing may."""

    __tablename__ = "money_retention"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    forget_before: Mapped[date | None]
