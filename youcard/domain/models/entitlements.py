"""Entitlements: one child, one category, an approval period and a budget rule."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from youcard.db import Base, BigIntPK, value_enum
from youcard.domain.budget import BudgetRule
from youcard.domain.enums import Accrual, Category, EntitlementStatus, RuleKind
from youcard.domain.models.households import Child
from youcard.domain.models.types import UTCDateTime


class Entitlement(Base):
    """An approved (or recorded, rejected, revoked, expired) benefit of one child.

    `amount_cents` means, by `rule`: monthly — per month of the period; total —
    the whole period; units — the cap per unit. `spent_cents`/`spent_units` are
    the running counters that the booking ledger moves with one conditional
    UPDATE; `cap_cents` is the most the period can ever hold (fixed when
    recorded) and backs the overspend guard with a CHECK constraint.
    """

    __tablename__ = "entitlements"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("valid_from <= valid_until", name="period_ordered"),
        CheckConstraint("spent_cents >= 0", name="spent_cents_not_negative"),
        CheckConstraint("spent_units >= 0", name="spent_units_not_negative"),
        CheckConstraint("cap_cents IS NULL OR spent_cents <= cap_cents", name="spent_within_cap"),
        CheckConstraint(
            "units_total IS NULL OR spent_units <= units_total", name="units_within_total"
        ),
        CheckConstraint("units_total IS NULL OR units_total > 0", name="units_total_positive"),
        CheckConstraint(
            "units_per_day IS NULL OR units_per_day > 0", name="units_per_day_positive"
        ),
        CheckConstraint(
            "rule = 'units' OR (units_total IS NULL AND units_per_day IS NULL AND spent_units = 0)",
            name="units_only_for_unit_rules",
        ),
        CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> recorded_by_id", name="four_eyes"
        ),
        Index("ix_entitlements_child_category", "child_id", "category"),
        Index("ix_entitlements_issuer_status", "issuer_id", "status"),
        Index("ix_entitlements_issuer_decided", "issuer_id", "decided_at"),  # the day's letters
        UniqueConstraint("issuer_id", "decision_ref"),
        CheckConstraint(
            "legal_basis IS NULL OR legal_basis IN ('SGB2', 'SGB12', 'BKGG', 'AsylbLG', 'WoGG')",
            name="legal_basis_known",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"))
    category: Mapped[Category] = mapped_column(value_enum(Category, "category"))
    status: Mapped[EntitlementStatus] = mapped_column(
        value_enum(EntitlementStatus, "status"), default=EntitlementStatus.RECORDED
    )
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    rule: Mapped[RuleKind] = mapped_column(value_enum(RuleKind, "rule"))
    accrual: Mapped[Accrual] = mapped_column(value_enum(Accrual, "accrual"), default=Accrual.ACCRUE)
    amount_cents: Mapped[int]
    units_total: Mapped[int | None]
    units_per_day: Mapped[int | None]
    cap_cents: Mapped[int | None]
    spent_cents: Mapped[int] = mapped_column(default=0)
    spent_units: Mapped[int] = mapped_column(default=0)

    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    # From the case-management system: its decision id (the import's key, unique per issuer)
    # and the legal basis, kept for the city's statistics only (never shown to partners,
    # cards, logs or families).
    decision_ref: Mapped[str | None] = mapped_column(String(60))
    legal_basis: Mapped[str | None] = mapped_column(String(10))

    child: Mapped[Child] = relationship()

    @property
    def budget_rule(self) -> BudgetRule:
        """The pure budget rule this row describes."""
        return BudgetRule(
            kind=self.rule,
            amount_cents=self.amount_cents,
            accrual=self.accrual,
            units_total=self.units_total,
            units_per_day=self.units_per_day,
        )


class DailyUsage(Base):
    """Units booked per entitlement and service day: the guard of a per-day limit (one meal)."""

    __tablename__ = "daily_usage"
    __table_args__ = (CheckConstraint("units >= 0", name="units_not_negative"),)

    entitlement_id: Mapped[int] = mapped_column(ForeignKey("entitlements.id"), primary_key=True)
    service_date: Mapped[date] = mapped_column(primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    units: Mapped[int]
