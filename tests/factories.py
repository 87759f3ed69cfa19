"""Factories for test data: quick rows built directly, with sensible defaults."""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TypeVar

from sqlalchemy import select, text

from youcard import credentials
from youcard.credentials import keys, trust
from youcard.db import Session
from youcard.domain import budget
from youcard.domain.budget import BudgetRule
from youcard.domain.entitlement_rules import default_rule
from youcard.domain.enums import CardStatus, Category, EntitlementStatus, PartnerStatus, Role
from youcard.domain.models import (
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
from youcard.policy import Counter, Staff
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
    """For tests: docs/credential.md's verification of a card as a scanner would do it online (the
    trust list from the database, revocation by the card's status). The partner API does
    it in youcard.reads.counter.check_card."""
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


_DUE_MANDATES = (
    "INSERT INTO children (issuer_id, household_id, given_name, family_name, birth_date, "
    "created_at, search_key) SELECT CAST(:i AS varchar), :h, 'Kind' || g, 'Muster', "
    "date '2014-05-17', now(), '' FROM generate_series(1, :n) g",
    "INSERT INTO entitlements (issuer_id, child_id, category, status, valid_from, valid_until, "
    "rule, accrual, amount_cents, cap_cents, spent_cents, spent_units, recorded_by_id, "
    "recorded_at) SELECT CAST(:i AS varchar), id, 'participation', 'approved', "
    "date '2026-01-01', date '2026-12-31', 'monthly', 'accrue', 1500, 18000, 0, 0, :s, now() "
    "FROM children WHERE issuer_id = :i",
    "INSERT INTO cards (issuer_id, child_id, serial, version, status, valid_from, valid_until, "
    "issued_at, categories, signing_key_id) SELECT CAST(:i AS varchar), id, "
    "decode(md5(id::text), 'hex'), 1, 'active', date '2026-01-01', date '2026-12-31', now(), 1, "
    ":k FROM children WHERE issuer_id = :i",
    "INSERT INTO mandates (issuer_id, partner_id, child_id, card_id, category, reference, "
    "monthly_amount_cents, day_of_month, valid_from, status, next_due, created_at, created_by) "
    "SELECT CAST(:i AS varchar), :p, c.child_id, c.id, 'participation', "
    "CAST(:r AS varchar) || c.id, 1000, 1 + c.id % 28, date '2026-03-01', 'active', "
    "date '2026-03-01' + (c.id % 28)::int, now(), 'partner:' || CAST(:p AS text) "
    "FROM cards c WHERE c.issuer_id = :i",
)


def due_mandates(session: Session, count: int, reference: str = "M-") -> str:
    """A new issuer with `count` children, each with approved participation (2026), a card and
    a mandate of 10 € a month whose March instalment is due by 31 March (PostgreSQL SQL: a
    hundred thousand in seconds, for bench/mandates.py and the kill drill). Its id."""
    make = Factory(session)
    issuer = make.issuer()
    key = make.signing_key(issuer)
    partner = make.partner(issuer, {Category.PARTICIPATION})
    recorder = make.staff(issuer)
    household = make.household(issuer)
    session.flush()
    params = {"i": issuer.id, "k": key.id, "p": partner.id, "n": count, "h": household.id,
              "s": recorder.id, "r": reference}  # fmt: skip
    for step in _DUE_MANDATES:
        session.execute(text(step), params)
    return issuer.id


def at_once(count: int, work: Callable[[], T], timeout: float = 120) -> list[T]:
    """`work` in `count` threads released together (a barrier): what each returned, in the
    order they finished. A thread that raised re-raises here; one still running after
    `timeout` seconds fails the test."""
    barrier = threading.Barrier(count)
    done: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            done.append(work())
        except BaseException as error:  # noqa: BLE001 - handed to the test below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    if errors:
        raise errors[0]
    return done


def at_counter(partner_id: int, device_id: int | None = None) -> Counter:
    """The counter of partner `partner_id` (through device `device_id`), as a test books at it:
    what it may book is the ledger's to check, not the principal's."""
    return Counter(partner_id, "", frozenset(), device_id=device_id)


def read_approvals(data: bytes) -> tuple[list, list]:
    """Every line of an approvals file, read or refused with its reason (FileRefused for
    the file), the whole file at once: the services read it a chunk at a time."""
    from youcard.imports.approvals_file import in_chunks

    lines: list = []
    refusals: list = []
    for chunk_lines, chunk_refusals in in_chunks(data):
        lines += chunk_lines
        refusals += chunk_refusals
    return lines, refusals
