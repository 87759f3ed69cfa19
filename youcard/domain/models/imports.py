"""Import batches: an approvals file uploaded (page, API) or given on the command line,
checked line by line by a job (or at once by the command), then — when no line is refused
and it was not a dry run — waiting for a second staff member to confirm or reject it; its
lines as they were read, with what each was to do."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base, BigIntPK
from youcard.domain.models.types import UTCDateTime

BATCH_STATUSES = ("queued", "checking", "refused", "checked", "recorded", "confirmed", "rejected")
WAITING = ("queued", "checking", "recorded")  # a file in one of these cannot be given again


class ImportBatch(Base):
    """One approvals file: queued, checked, then recorded (waiting for another person, who
    confirms or rejects it), refused (a line or the file), or checked only (a dry run)."""

    __tablename__ = "import_batches"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in BATCH_STATUSES) + ")",
            name="status_known",
        ),
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
            sqlite_where=text("status IN ('queued', 'checking', 'recorded') AND NOT dry_run"),
            postgresql_where=text("status IN ('queued', 'checking', 'recorded') AND NOT dry_run"),
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
    dry_run: Mapped[bool] = mapped_column(default=False)
    # The file until it is checked; deferred: the progress reads the row after every chunk.
    data: Mapped[bytes | None] = mapped_column(LargeBinary(), deferred=True)
    lines_total: Mapped[int] = mapped_column(default=0)
    lines_done: Mapped[int] = mapped_column(default=0)
    claim: Mapped[str | None] = mapped_column(String(32))  # the job run checking it
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    problem_code: Mapped[str | None] = mapped_column(String(40))  # the whole file refused
    problem: Mapped[str | None] = mapped_column(Text())
    # Confirmed: the job issues the cards of its children; done when every child has one.
    families: Mapped[int] = mapped_column(default=0)  # given or changed a benefit (letters)
    cards_issued: Mapped[int] = mapped_column(default=0)
    cards_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportLine(Base):
    """A line of a batch as it was read (JSON), and what it was to do (refused: why). The
    child's and period's columns let later lines of the same file be checked against it."""

    __tablename__ = "import_lines"
    __table_args__ = (Index("ix_import_lines_batch_child", "batch_id", "child_ref"),)

    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    decision_ref: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(10))
    data: Mapped[str] = mapped_column(Text())
    code: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text())
    child_ref: Mapped[str | None] = mapped_column(String(60))
    child_key: Mapped[str | None] = mapped_column(String(500))  # case, names, birth date
    category: Mapped[str | None] = mapped_column(String(20))
    valid_from: Mapped[date | None] = mapped_column(Date())
    valid_until: Mapped[date | None] = mapped_column(Date())
