"""The audit log: who did what to which object, when; hash-chained per issuer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK
from youcard.domain.models.types import UTCDateTime


class AuditEvent(Base):
    """One event. Appended unsealed in the operation's transaction; `seal` chains it later.

    Sealing gives each event its place `seq` in the issuer's chain and
    `hash = SHA-256(prev_hash || canonical event)`, so an edited, inserted or
    deleted sealed event breaks the chain.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("issuer_id", "seq"),
        CheckConstraint("(seq IS NULL) = (hash IS NULL)", name="sealed_shape"),
        Index("ix_audit_events_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80))
    data: Mapped[str] = mapped_column(Text(), default="{}")
    seq: Mapped[int | None] = mapped_column(BigInteger())
    hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))


class AuditHead(Base):
    """The newest sealed position of an issuer's chain (its truncation shows here)."""

    __tablename__ = "audit_heads"
    __table_args__ = (CheckConstraint("seq >= 0", name="seq_not_negative"),)

    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger(), default=0)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
