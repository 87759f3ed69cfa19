"""The outbox (youcard.messages): a message to a family, written in the same unit of work as
its cause (the cause rolls back: no message), sent by the `messages` job. One row per event,
channel and address: never twice to one address for one event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK
from youcard.domain.models.types import UTCDateTime


class OutboxMessage(Base):
    """One message to one address (of a household, or of a partner); its id is its e-mail's
    Message-ID."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("event_key", "channel", "address"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id"))  # what it is about
    event: Mapped[str] = mapped_column(String(40))  # what happened: youcard.messages.texts
    event_key: Mapped[str] = mapped_column(String(120))  # which time it happened
    channel: Mapped[str] = mapped_column(String(10))  # email, sms
    address: Mapped[str] = mapped_column(String(254))  # erased with the household
    language: Mapped[str] = mapped_column(String(5))
    facts: Mapped[str] = mapped_column(Text(), default="{}")  # JSON: what the text names
    # waiting (to be sent, or again at next_attempt_at), sent, failed (permanently, or
    # after the last attempt: staff see it)
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a sender has it
    last_error: Mapped[str | None] = mapped_column(String(300))  # the server's words, no body
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
