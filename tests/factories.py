"""Factories for test data: quick rows built directly, with sensible defaults."""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TypeVar

from sqlalchemy import select

from youcard import budget, credentials, keys, trust
from youcard.budget import BudgetRule
from youcard.db import Session
from youcard.enums import CardStatus, Category, EntitlementStatus, PartnerStatus, Role
from youcard.models import (
    Card,
    Child,
    DeviceToken,
    Entitlement,
    Household,
    Issuer,
    Partner,
    PartnerPermission,
    PartnerUser,
    SigningKey,
    StaffUser,
)
from youcard.operations import cards as card_ops
from youcard.operations.entitlements import default_rule
from youcard.policy import Staff
from youcard.security import hash_password, token_hash

NOW = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)  # a Monday in the middle of the demo period
PERIOD = (date(2026, 1, 1), date(2026, 12, 31))
PASSWORD = "correct horse battery staple"
KEK = bytes(range(32))  # a fixed key-encryption key for tests

_numbers = itertools.count(1)
T = TypeVar("T")


@lru_cache(maxsize=1)
def password_hash() -> str:
    """One argon2id hash for all test users (hashing is deliberately slow)."""
    return hash_password(PASSWORD)


class Factory:
    """Builds rows in the test's session; every method flushes and returns the row."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _add(self, row: T) -> T:
        self.session.add(row)
        self.session.flush()
        return row

    def issuer(self, issuer_id: str | None = None) -> Issuer:
        issuer_id = issuer_id or f"DE-T-{next(_numbers):05d}"
        return self._add(Issuer(id=issuer_id, name=f"Stadt {issuer_id}", created_at=NOW))

    def staff(self, issuer: Issuer, role: Role = Role.CASEWORKER) -> StaffUser:
        n = next(_numbers)
        return self._add(
            StaffUser(
                issuer_id=issuer.id,
                username=f"staff{n}",
                display_name=f"Staff {n}",
                role=role,
                password_hash=password_hash(),
                active=True,
                created_at=NOW,
            )
        )

    def partner_user(self, partner: Partner) -> PartnerUser:
        n = next(_numbers)
        return self._add(
            PartnerUser(
                partner_id=partner.id,
                username=f"counter{n}-{secrets.token_hex(3)}",
                display_name=f"Counter {n}",
                password_hash=password_hash(),
                active=True,
                created_at=NOW,
            )
        )

    def household(self, issuer: Issuer) -> Household:
        n = next(_numbers)
        return self._add(
            Household(
                issuer_id=issuer.id, reference=f"REF-{n}", family_name="Muster", created_at=NOW
            )
        )

    def child(
        self,
        issuer: Issuer,
        birth_date: date = date(2014, 5, 17),
        household: Household | None = None,
    ) -> Child:
        n = next(_numbers)
        household = household or self.household(issuer)
        return self._add(
            Child(
                issuer_id=issuer.id,
                household_id=household.id,
                given_name=f"Kind{n}",
                family_name="Muster",
                birth_date=birth_date,
                created_at=NOW,
            )
        )

    def entitlement(
        self,
        child: Child,
        category: Category = Category.PARTICIPATION,
        *,
        rule: BudgetRule | None = None,
        period: tuple[date, date] = PERIOD,
        status: EntitlementStatus = EntitlementStatus.APPROVED,
    ) -> Entitlement:
        rule = rule or default_rule(category) or BudgetRule(budget.RuleKind.TOTAL, 20_000)
        issuer = self.session.get(Issuer, child.issuer_id)
        assert issuer is not None
        recorder = self.staff(issuer, Role.CASEWORKER)
        approver = self.staff(issuer, Role.APPROVER)
        usable = budget.effective_period(*period, category=category, birth_date=child.birth_date)
        return self._add(
            Entitlement(
                issuer_id=child.issuer_id,
                child_id=child.id,
                category=category,
                status=status,
                valid_from=period[0],
                valid_until=period[1],
                rule=rule.kind,
                accrual=rule.accrual,
                amount_cents=rule.amount_cents,
                units_total=rule.units_total,
                units_per_day=rule.units_per_day,
                cap_cents=budget.cap_cents(rule, usable) if usable else 0,
                spent_cents=0,
                spent_units=0,
                recorded_by_id=recorder.id,
                recorded_at=NOW,
                decided_by_id=approver.id if status is not EntitlementStatus.RECORDED else None,
                decided_at=NOW if status is not EntitlementStatus.RECORDED else None,
            )
        )

    def card(
        self, child: Child, *, valid_until: date = PERIOD[1], status: CardStatus = CardStatus.ACTIVE
    ) -> Card:
        """A card with its signed credential (the issuer's key, made if it has none): bookings
        need the credential shown."""
        issuer = self.session.get(Issuer, child.issuer_id)
        assert issuer is not None
        key = self.signing_key(issuer)
        card = Card(
            issuer_id=child.issuer_id,
            child_id=child.id,
            serial=secrets.token_bytes(16),
            version=1,
            status=status,
            valid_from=PERIOD[0],
            valid_until=valid_until,
            issued_at=NOW,
            categories=card_ops.categories_bitmask({c.qr_int for c in Category}),
            signing_key_id=key.id,
        )
        card.credential = credentials.encode(
            card_ops.card_claims(card), keys.private_key_of(key, KEK)
        )
        return self._add(card)

    def partner(
        self,
        issuer: Issuer,
        categories: set[Category] | None = None,
        *,
        status: PartnerStatus = PartnerStatus.ACTIVE,
    ) -> Partner:
        partner = Partner(
            issuer_id=issuer.id,
            name=f"Partner {next(_numbers)}",
            iban="DE89370400440532013000",
            status=status,
            created_at=NOW,
        )
        partner.permissions = [
            PartnerPermission(issuer_id=issuer.id, category=c)
            for c in (categories if categories is not None else {Category.PARTICIPATION})
        ]
        return self._add(partner)

    def signing_key(self, issuer: Issuer) -> SigningKey:
        """The issuer's active key; made when it has none."""
        return keys.active_key(self.session, issuer.id) or keys.create_key(
            self.session, by=Staff.system(issuer.id, "test"), kek=KEK, now=NOW
        )

    def device(self, partner: Partner) -> tuple[DeviceToken, str]:
        token = f"ycd_{secrets.token_urlsafe(32)}"
        device = self._add(
            DeviceToken(
                partner_id=partner.id, name="Kasse 1", token_hash=token_hash(token), created_at=NOW
            )
        )
        return device, token


def trusted(session: Session, *issuer_ids: str) -> credentials.TrustedKeys:
    """What a booking in a test is verified against: the listed keys of these issuers."""
    return trust.trusted_keys(session, *issuer_ids)


def card_is_revoked(session: Session, serial: bytes, issuer_id: str) -> bool:
    """True unless an active card of this issuer has this serial (unknown serials fail too)."""
    found = session.execute(
        select(Card.status, Card.issuer_id).where(Card.serial == serial)
    ).one_or_none()
    return found is None or found.status is not CardStatus.ACTIVE or found.issuer_id != issuer_id


def check_credential(
    session: Session,
    credential: object,
    *,
    now: datetime,
    trusted: credentials.TrustedKeys | None = None,
) -> credentials.VerifyResult:
    """For tests: DESIGN.md's verification of a card as a scanner would do it online (the
    trust list from the database, revocation by the card's status). The partner API does
    it in youcard.counter.check_card."""
    trusted = trusted if trusted is not None else trust.trusted_keys(session)
    result = credentials.verify(credential, trusted=trusted, now=int(now.timestamp()))
    claims = result.claims
    if (
        result.valid
        and claims is not None
        and card_is_revoked(session, claims.serial, claims.issuer)
    ):
        return credentials.VerifyResult(
            valid=False, reason="revoked", claims=claims, kid=result.kid
        )
    return result
