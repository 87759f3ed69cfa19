"""Cards: a random 128-bit serial per child; a lost card is revoked and replaced."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from youcard.db import Base, BigIntPK, value_enum
from youcard.domain.enums import CardStatus
from youcard.domain.models.households import Child
from youcard.domain.models.types import UTCDateTime


class Card(Base):
    """A child's card. The serial is pseudonymous: no name, address or legal basis in it."""

    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint("length(serial) = 16", name="serial_128_bits"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("valid_from <= valid_until", name="validity_ordered"),
        CheckConstraint("categories BETWEEN 0 AND 15", name="categories_bitmask"),
        Index("ix_cards_issuer_status", "issuer_id", "status"),
        # At most one card in use per child: two people issuing one at the same moment
        # (or the import's card job beside them) make one card, not two.
        Index(
            "uq_cards_one_active_per_child",
            "child_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
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
    revoked_by: Mapped[str | None] = mapped_column(String(100))  # the actor: family:7, staff:3
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    # The YC1 credential as issued: its categories (bit n-1 for QR number n), the key
    # that signed it, and the text itself (deterministic, kept so that showing a
    # card never needs the private key).
    categories: Mapped[int] = mapped_column(default=0)
    signing_key_id: Mapped[int | None] = mapped_column(ForeignKey("signing_keys.id"), index=True)
    credential: Mapped[str | None] = mapped_column(Text())
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    child: Mapped[Child] = relationship()


class CardRevocation(Base):
    """A revoked or replaced card's serial, numbered so scanners fetch only what is new.

    `seq` is given under a table lock as the next number, so numbers appear in
    commit order and a scanner that remembers the highest it saw misses none.
    """

    __tablename__ = "card_revocations"
    __table_args__ = (CheckConstraint("length(serial) = 16", name="serial_128_bits"),)

    seq: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), unique=True)
    serial: Mapped[bytes] = mapped_column(LargeBinary(16))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(500))
