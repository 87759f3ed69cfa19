"""Recompute every budget from the bookings and compare with the running counters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select, true

from youcard.db import Session
from youcard.domain.enums import BookingKind
from youcard.domain.models import Booking, DailyUsage, Entitlement


@dataclass(frozen=True)
class LedgerDifference:
    """A counter that does not equal the sum of its bookings."""

    entitlement_id: int
    what: str
    recorded: int
    recomputed: int

    def __str__(self) -> str:
        return (
            f"entitlement {self.entitlement_id}: {self.what} is {self.recorded}, "
            f"the bookings say {self.recomputed}"
        )


def _signed(column: object) -> object:
    return case((Booking.kind == BookingKind.CANCELLATION, -column), else_=column)  # type: ignore[operator]


def check(session: Session, issuer_id: str | None = None) -> list[LedgerDifference]:
    """Every difference between the entitlements' counters and their bookings (none: clean),
    of every issuer or of `issuer_id`'s entitlements only."""
    mine = true() if issuer_id is None else Booking.issuer_id == issuer_id
    sums = (
        select(
            Booking.entitlement_id.label("entitlement_id"),
            func.sum(_signed(Booking.amount_cents)).label("cents"),
            func.sum(_signed(Booking.units)).label("units"),
        )
        .where(mine)
        .group_by(Booking.entitlement_id)
        .subquery()
    )
    own = true() if issuer_id is None else Entitlement.issuer_id == issuer_id
    cents = func.coalesce(sums.c.cents, 0)
    units = func.coalesce(sums.c.units, 0)
    differences: list[LedgerDifference] = []
    for row in session.execute(
        select(Entitlement.id, Entitlement.spent_cents, Entitlement.spent_units, cents, units)
        .outerjoin(sums, sums.c.entitlement_id == Entitlement.id)
        .where(own, or_(Entitlement.spent_cents != cents, Entitlement.spent_units != units))
        .order_by(Entitlement.id)
    ):
        entitlement_id, spent_cents, spent_units, summed_cents, summed_units = row
        if spent_cents != summed_cents:
            differences.append(
                LedgerDifference(entitlement_id, "spent_cents", spent_cents, int(summed_cents))
            )
        if spent_units != summed_units:
            differences.append(
                LedgerDifference(entitlement_id, "spent_units", spent_units, int(summed_units))
            )

    per_day = (
        select(
            Booking.entitlement_id.label("entitlement_id"),
            Booking.service_date.label("service_date"),
            func.sum(_signed(Booking.units)).label("units"),
        )
        .join(Entitlement, Entitlement.id == Booking.entitlement_id)
        .where(own, Entitlement.units_per_day.is_not(None))
        .group_by(Booking.entitlement_id, Booking.service_date)
        .subquery()
    )
    # Both directions: a day counted without bookings, and bookings on a day not counted.
    for entitlement_id, recorded, recomputed in session.execute(
        select(DailyUsage.entitlement_id, DailyUsage.units, func.coalesce(per_day.c.units, 0))
        .outerjoin(
            per_day,
            and_(
                per_day.c.entitlement_id == DailyUsage.entitlement_id,
                per_day.c.service_date == DailyUsage.service_date,
            ),
        )
        .where(
            true() if issuer_id is None else DailyUsage.issuer_id == issuer_id,
            DailyUsage.units != func.coalesce(per_day.c.units, 0),
        )
    ):
        differences.append(
            LedgerDifference(entitlement_id, "units per day", recorded, int(recomputed))
        )
    for entitlement_id, recomputed in session.execute(
        select(per_day.c.entitlement_id, per_day.c.units)
        .outerjoin(
            DailyUsage,
            and_(
                per_day.c.entitlement_id == DailyUsage.entitlement_id,
                per_day.c.service_date == DailyUsage.service_date,
            ),
        )
        .where(DailyUsage.entitlement_id.is_(None), per_day.c.units != 0)
    ):
        differences.append(LedgerDifference(entitlement_id, "units per day", 0, int(recomputed)))
    return differences
