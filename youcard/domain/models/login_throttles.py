"""Failed sign-ins per account name and address (OWASP: throttle, never lock an account)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK
from youcard.domain.models.types import UTCDateTime


class LoginThrottle(Base):
    """Failed sign-ins of one username (known or not) from one address, and until when that
    pair must wait. Another address, the owner's own included, is not slowed by it."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("kind", "username", "address"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # staff | partner_user
    username: Mapped[str] = mapped_column(String(80))  # as typed, lower case
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
