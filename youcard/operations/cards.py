"""Cards: issue (signed YC1 credential), revoke, replace a lost card; the revocation list.

A card carries a random 128-bit serial and no personal data. Budgets belong to
entitlements, so a replacement card simply gets a new serial (version + 1) and
the old serial goes on the revocation list at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, text

from youcard import audit, credentials
from youcard.clock import BERLIN, berlin_date
from youcard.credentials import keys
from youcard.db import Session, refusing_duplicates
from youcard.documents import printing
from youcard.domain.entitlement_rules import usable_period
from youcard.domain.enums import CardStatus, EntitlementStatus
from youcard.domain.models import Card, CardRevocation, Child, Entitlement, Household
from youcard.errors import Conflict, InvalidRequest, NotFound
from youcard.messages import events as messages
from youcard.policy import DECIDERS, REPLACERS, Family, Staff, require_role

SERIAL_BYTES = 16
MAX_REASON_LENGTH = 500


def card_expiry(valid_until: date) -> int:
    """The credential's `exp`: the end of the last valid day in Europe/Berlin (unix seconds)."""
    return int(datetime.combine(valid_until + timedelta(days=1), time(), tzinfo=BERLIN).timestamp())


def categories_bitmask(numbers: set[int]) -> int:
    """Category QR numbers 1..4 as bits 0..3."""
    return sum(1 << (n - 1) for n in numbers)


def categories_of(bitmask: int) -> tuple[int, ...]:
    """The category QR numbers in a bitmask, ascending."""
    return tuple(n for n in range(1, 5) if bitmask & (1 << (n - 1)))


def card_claims(card: Card) -> credentials.Claims:
    """The YC1 claims of a card row."""
    return credentials.Claims(
        issuer=card.issuer_id,
        issued_at=int(card.issued_at.timestamp()),
        expires_at=card_expiry(card.valid_until),
        serial=card.serial,
        categories=categories_of(card.categories),
        version=card.version,
    )


def _current_approvals(session: Session, child: Child, today: date) -> tuple[date, set[int]]:
    """The last usable day and category numbers of the child's current approved entitlements."""
    ends: list[date] = []
    numbers: set[int] = set()
    for entitlement in session.scalars(
        select(Entitlement).where(
            Entitlement.child_id == child.id, Entitlement.status == EntitlementStatus.APPROVED
        )
    ):
        period = usable_period(entitlement, child.birth_date)
        if period is not None and period.end >= today:
            ends.append(period.end)
            numbers.add(entitlement.category.qr_int)
    if not ends:
        raise Conflict("The child has no current approved entitlement.", code="nothing_approved")
    return max(ends), numbers


def _new_card(
    session: Session,
    *,
    child: Child,
    version: int,
    kek: bytes,
    now: datetime,
    random_bytes: Callable[[int], bytes],
) -> Card:
    today = berlin_date(now)
    valid_until, numbers = _current_approvals(session, child, today)
    signing_key = keys.active_key(session, child.issuer_id)
    if signing_key is None:
        raise Conflict("The issuer has no active signing key.", code="no_signing_key")
    card = Card(
        issuer_id=child.issuer_id,
        child_id=child.id,
        serial=random_bytes(SERIAL_BYTES),
        version=version,
        status=CardStatus.ACTIVE,
        valid_from=today,
        valid_until=valid_until,
        issued_at=now.replace(microsecond=0),
        categories=categories_bitmask(numbers),
        signing_key_id=signing_key.id,
    )
    card.credential = credentials.encode(card_claims(card), keys.private_key_of(signing_key, kek))
    try:
        printing.qr_version(card.credential)
    except printing.QRTooLarge as exc:
        raise Conflict(
            "The card's QR code would be too large to scan reliably.", code="credential_too_large"
        ) from exc
    with refusing_duplicates(  # a parallel issue was first: the database decides
        session, lambda: Conflict("The child already has an active card.", code="card_exists")
    ):
        session.add(card)
    return card


def issue_card(
    session: Session,
    *,
    by: Staff,
    child_id: int,
    now: datetime,
    kek: bytes,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Card:
    """Issue the child's card; refused while it has an active card or no current approval."""
    require_role(by, DECIDERS, "issue cards")
    child = session.get(Child, child_id)
    if child is None or child.issuer_id != by.issuer_id:
        raise NotFound("No such child.", code="child_not_found")
    if active_card(session, child.id) is not None:
        raise Conflict("The child already has an active card.", code="card_exists")
    card = _new_card(session, child=child, version=1, kek=kek, now=now, random_bytes=random_bytes)
    audit.record(
        session,
        issuer_id=child.issuer_id,
        actor=by.actor,
        action="card.issue",
        object_type="card",
        object_id=card.id,
        now=now,
        data={"child_id": child.id, "valid_until": card.valid_until.isoformat()},
    )
    return card


def _lock_revocation_list(session: Session) -> None:
    # Numbers must appear in commit order, or a scanner reading "since N" could
    # skip one committed late: revocations (rare) take turns.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE card_revocations IN SHARE ROW EXCLUSIVE MODE"))


def _revoke(
    session: Session, card: Card, *, status: CardStatus, reason: str, actor: str, now: datetime
) -> CardRevocation:
    _lock_revocation_list(session)
    seq = (session.scalar(select(func.max(CardRevocation.seq))) or 0) + 1
    card.status = status
    card.revoked_at = now
    card.revoke_reason = reason
    card.revoked_by = actor
    revocation = CardRevocation(
        seq=seq,
        issuer_id=card.issuer_id,
        card_id=card.id,
        serial=card.serial,
        revoked_at=now,
        reason=reason,
    )
    session.add(revocation)
    session.flush()
    audit.record(
        session,
        issuer_id=card.issuer_id,
        actor=actor,
        action="card.replace" if status is CardStatus.REPLACED else "card.revoke",
        object_type="card",
        object_id=card.id,
        now=now,
        data={"reason": reason, "seq": seq},
    )
    return revocation


def _active_card(session: Session, card_id: int, by: Staff | Family) -> Card:
    """The card, locked, if `by` may block it: staff who decide, of its issuer; a family, of
    its own children. Otherwise "not found" (or the role's refusal)."""
    if isinstance(by, Staff):
        require_role(by, DECIDERS, "block or replace cards")
    card = session.scalars(select(Card).where(Card.id == card_id).with_for_update()).one_or_none()
    if card is None or card.issuer_id != by.issuer_id:
        raise NotFound("No such card.", code="card_not_found")
    if isinstance(by, Family) and card.child.household_id != by.household_id:
        raise NotFound("No such card.", code="card_not_found")
    if card.status is not CardStatus.ACTIVE:
        raise Conflict("This card is already blocked.", code="card_not_active")
    return card


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("A reason is required.", code="reason_required")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidRequest("The reason is too long.", code="reason_too_long")
    return reason


def revoke_card(
    session: Session, *, by: Staff | Family, card_id: int, reason: str, now: datetime
) -> Card:
    """Block a card: its QR fails with `revoked` at once online, and offline after a sync."""
    card = _active_card(session, card_id, by)
    _revoke(
        session, card, status=CardStatus.REVOKED, reason=_reason(reason), actor=by.actor, now=now
    )
    messages.card_blocked(session, card, now)
    return card


def _successor(
    session: Session,
    by: Staff,
    old: Card,
    child: Child,
    *,
    now: datetime,
    kek: bytes,
    random_bytes: Callable[[int], bytes],
) -> Card:
    """The card that follows `old` (version + 1), audited as issued in its place."""
    new = _new_card(
        session, child=child, version=old.version + 1, kek=kek, now=now, random_bytes=random_bytes
    )
    old.replaced_by_id = new.id
    session.flush()
    audit.record(
        session,
        issuer_id=by.issuer_id,
        actor=by.actor,
        action="card.issue",
        object_type="card",
        object_id=new.id,
        now=now,
        data={"child_id": child.id, "replaces": old.id},
    )
    return new


def replace_card(
    session: Session,
    *,
    by: Staff,
    card_id: int,
    reason: str,
    now: datetime,
    kek: bytes,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Card:
    """A lost card: block the old serial and issue a new one (version + 1); budgets carry over."""
    old = _active_card(session, card_id, by)
    reason = _reason(reason)
    _revoke(session, old, status=CardStatus.REPLACED, reason=reason, actor=by.actor, now=now)
    child = session.get(Child, old.child_id)
    assert child is not None
    return _successor(session, by, old, child, now=now, kek=kek, random_bytes=random_bytes)


def replace_blocked_card(
    session: Session,
    *,
    by: Staff,
    card_id: int,
    now: datetime,
    kek: bytes,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Card:
    """A new card for a child whose card was blocked (by the family, as lost, or by the
    office): caseworkers may issue it too, as it replaces a card the office once decided on.
    Refused while the child has an active card or the blocked one was replaced already."""
    require_role(by, REPLACERS, "issue replacement cards")
    old = session.scalars(select(Card).where(Card.id == card_id).with_for_update()).one_or_none()
    if old is None or old.issuer_id != by.issuer_id:
        raise NotFound("No such card.", code="card_not_found")
    if old.status is not CardStatus.REVOKED or old.replaced_by_id is not None:
        raise Conflict("Only a blocked card not yet replaced gets a new one.", code="not_blocked")
    child = session.get(Child, old.child_id)
    assert child is not None
    if active_card(session, child.id) is not None:
        raise Conflict("The child already has an active card.", code="card_exists")
    return _successor(session, by, old, child, now=now, kek=kek, random_bytes=random_bytes)


@dataclass(frozen=True)
class BlockedCard:
    """A card a family blocked, waiting for its replacement."""

    card: Card
    child: Child
    household: Household


def blocked_by_families(session: Session, *, by: Staff, limit: int = 200) -> list[BlockedCard]:
    """Cards of the principal's issuer that families blocked and that have no replacement
    yet (and whose child has no other active card), the longest-waiting first."""
    require_role(by, REPLACERS, "see blocked cards")
    active = select(Card.child_id).where(
        Card.issuer_id == by.issuer_id, Card.status == CardStatus.ACTIVE
    )
    rows = session.execute(
        select(Card, Child, Household)
        .join(Child, Child.id == Card.child_id)
        .join(Household, Household.id == Child.household_id)
        .where(
            Card.issuer_id == by.issuer_id,
            Card.status == CardStatus.REVOKED,
            Card.replaced_by_id.is_(None),
            Card.revoked_by.like("family:%"),
            Card.child_id.not_in(active),
        )
        .order_by(Card.revoked_at, Card.id)
        .limit(limit)
    ).all()
    return [BlockedCard(card, child, household) for card, child, household in rows]


def active_card(session: Session, child_id: int) -> Card | None:
    """The child's card in use, if there is one (at most one is active)."""
    return session.scalars(
        select(Card).where(Card.child_id == child_id, Card.status == CardStatus.ACTIVE)
    ).first()
