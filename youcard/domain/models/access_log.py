"""The access log (docs/operations.md): every staff view of a family
or a child, who and when. Kept apart from the audit chain (a view changes nothing, and there
are many) and for its own retention period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK
from youcard.domain.models.types import UTCDateTime


class AccessEvent(Base):
    """A staff member looked at a family's or a child's data (page or API)."""

    __tablename__ = "access_events"
    __table_args__ = (
        Index("ix_access_events_object", "issuer_id", "object_type", "object_id"),
        Index("ix_access_events_viewed_at", "viewed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    object_type: Mapped[str] = mapped_column(String(20))  # household | child
    object_id: Mapped[int] = mapped_column(BigInteger())
    via: Mapped[str] = mapped_column(String(10))  # page | api
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
