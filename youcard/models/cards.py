"""Cards: a random 128-bit serial per child; a lost card is revoked and replaced."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from youcard.db import Base, BigIntPK, value_enum
from youcard.enums import CardStatus
from youcard.models.households import Child
from youcard.models.types import UTCDateTime


class Card(Base):
    """A child's card. The serial is pseudonymous: no name, address or legal basis in it."""

    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint("length(serial) = 16", name="serial_128_bits"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("valid_from <= valid_until", name="validity_ordered"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    serial: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[CardStatus] = mapped_column(
        value_enum(CardStatus, "status"), default=CardStatus.ACTIVE
    )
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))

    child: Mapped[Child] = relationship()
