"""Signing keys: Ed25519 per issuer, the private half encrypted with the key-encryption key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK, value_enum
from youcard.domain.enums import KeyStatus
from youcard.domain.models.types import UTCDateTime


class SigningKey(Base):
    """One Ed25519 key pair; `kid` is the first 8 bytes of SHA-256 of the raw public key."""

    __tablename__ = "signing_keys"
    __table_args__ = (
        UniqueConstraint("issuer_id", "kid"),
        CheckConstraint("length(kid) = 8", name="kid_8_bytes"),
        CheckConstraint("length(public_key) = 32", name="public_key_32_bytes"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    kid: Mapped[bytes] = mapped_column(LargeBinary(8))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary())
    status: Mapped[KeyStatus] = mapped_column(
        value_enum(KeyStatus, "status"), default=KeyStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
