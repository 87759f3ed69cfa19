"""What the settlement pages show (read models): an issuer's runs, and one run to review
with its payments and lines. Only the issuer's administrators see them; another issuer's
run is not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, select

from youcard.db import Session
from youcard.domain.models import Issuer, Partner, Settlement, SettlementLine, SettlementPayment
from youcard.policy import ADMINISTRATORS, Staff, require_role
from youcard.tenancy import owned


def get_run(session: Session, *, by: Staff, settlement_id: int) -> Settlement:
    """One of the issuer's runs (another issuer's is not found)."""
    require_role(by, ADMINISTRATORS, "see settlements")
    return owned(session, by, Settlement, settlement_id, "settlement")


@dataclass(frozen=True)
class Runs:
    issuer: Issuer  # its paying account
    runs: Sequence[Settlement]  # newest month first


def runs_of(session: Session, *, by: Staff) -> Runs:
    """The issuer's runs, newest month first."""
    require_role(by, ADMINISTRATORS, "see settlements")
    runs = session.scalars(
        select(Settlement)
        .where(Settlement.issuer_id == by.issuer_id)
        .order_by(Settlement.month.desc())
    ).all()
    return Runs(session.get_one(Issuer, by.issuer_id), runs)


@dataclass(frozen=True)
class Review:
    issuer: Issuer
    run: Settlement
    payments: Sequence[SettlementPayment]  # by partner name
    lines: Sequence[Row[SettlementLine, str]]  # (line, partner name) by name, category


def review(session: Session, *, by: Staff, settlement_id: int) -> Review:
    """A run to review: what each partner is paid, and its lines per category."""
    run = get_run(session, by=by, settlement_id=settlement_id)
    payments = session.scalars(
        select(SettlementPayment)
        .where(SettlementPayment.settlement_id == run.id)
        .order_by(SettlementPayment.partner_name)
    ).all()
    lines = session.execute(
        select(SettlementLine, Partner.name)
        .join(Partner, Partner.id == SettlementLine.partner_id)
        .where(SettlementLine.settlement_id == run.id)
        .order_by(Partner.name, SettlementLine.category)
    ).all()
    return Review(session.get_one(Issuer, by.issuer_id), run, payments, lines)
