"""Import batches: an approvals file recorded by one staff member and confirmed (or
rejected) by a second; its lines as they were read, for the confirmation to apply."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK
from youcard.models.types import UTCDateTime


class ImportBatch(Base):
    """One approvals file: recorded, then confirmed or rejected by another person."""

    __tablename__ = "import_batches"
    __table_args__ = (
        CheckConstraint("status IN ('recorded', 'confirmed', 'rejected')", name="status_known"),
        CheckConstraint(
            "confirmed_by_id IS NULL OR confirmed_by_id <> recorded_by_id", name="four_eyes"
        ),
        # The same file waits at most once per issuer: of two imports at the same time one
        # wins, the other is told (the database decides).
        Index(
            "uq_import_batches_waiting_file",
            "issuer_id",
            "file_sha256",
            unique=True,
            sqlite_where=text("status = 'recorded'"),
            postgresql_where=text("status = 'recorded'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(10))
    counts: Mapped[str] = mapped_column(Text())  # JSON: outcome -> lines
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportLine(Base):
    """A line of a batch as it was read (JSON), and what it was to do."""

    __tablename__ = "import_lines"

    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    decision_ref: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(10))
    data: Mapped[str] = mapped_column(Text())
