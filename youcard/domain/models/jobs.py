"""What the scheduled jobs did (youcard.jobs.runner): one row per job, updated by every run on any
node; the metrics endpoint reads it (runs, failures, the last success, the work done), so a
job that stopped running or keeps failing shows wherever the apps are scraped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from youcard.db import Base
from youcard.domain.models.types import UTCDateTime


class JobRun(Base):
    """A job's runs so far and its last one."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(BigInteger(), default=0)  # pieces of work, all runs together
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_seconds: Mapped[float | None]
